// Run parameters as XMP, for the formats without PNG's text chunks (JPEG, WebP): one rdf:Description whose
// attributes are the entries, in an fmboost namespace. readXmpText reads back what xmpPacket wrote.
import { escapeXml, unescapeXml } from '../util/xml.js';

const NS = 'https://github.com/fmboost/fmboost/ns/1.0/';

/** Keys become attribute names: 'fmboost:steps' → fmboost:steps, 'Software' → fmboost:Software. Plain keys must
 *  start with a capital and prefixed ones with a small letter, so that the two read back apart. */
function attrName(key: string): string {
  const local = key.startsWith('fmboost:') ? key.slice(8) : key;
  const ok = key.startsWith('fmboost:') ? /^[a-z_][A-Za-z0-9_.-]*$/.test(local) : /^[A-Z][A-Za-z0-9_.-]*$/.test(local);
  if (!ok) throw new RangeError(`metadata key '${key}' cannot be stored in XMP (an 'fmboost:lowercase' or a 'Capitalised' name)`);
  return `fmboost:${local}`;
}

/** An XMP packet holding the entries. */
export function xmpPacket(entries: Record<string, string>): string {
  const attrs = Object.entries(entries).map(([k, v]) => ` ${attrName(k)}="${escapeXml(String(v))}"`).join('');
  return `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">`
    + `<rdf:Description rdf:about="" xmlns:fmboost="${NS}"${attrs}/></rdf:RDF></x:xmpmeta>`;
}

/** The fmboost entries of an XMP packet, keyed as given to xmpPacket. */
export function readXmpText(xmp: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!xmp.includes(NS)) return out;
  for (const m of xmp.matchAll(/\sfmboost:([A-Za-z_][A-Za-z0-9_.-]*)="([^"]*)"/g)) {
    const local = m[1];
    out[/^[A-Z]/.test(local) ? local : `fmboost:${local}`] = unescapeXml(m[2]);
  }
  return out;
}
