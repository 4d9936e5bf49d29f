// XML text and attribute escaping, for every SVG and XMP string we write.

/** Escapes & < > " (safe in text and in double-quoted attributes). */
export function escapeXml(v: string): string {
  return v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The inverse of escapeXml. */
export function unescapeXml(v: string): string {
  return v.replace(/&quot;/g, '"').replace(/&gt;/g, '>').replace(/&lt;/g, '<').replace(/&amp;/g, '&');
}
