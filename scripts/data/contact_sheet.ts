// Contact sheet for visual review of dataset candidates: a grid of thumbnails, row-major,
// in the order of the files given (the index of each cell is printed to stdout).
// Usage: node dist/scripts/data/contact_sheet.js OUT.png COLS FILE...
import sharp from 'sharp';

export async function contactSheet(files: string[], out: string, cols = 6, cell = 200): Promise<void> {
  const rows = Math.ceil(files.length / cols);
  const tiles = await Promise.all(files.map(async (f, i) => {
    // An undecodable file shows as a black cell instead of aborting the sheet.
    const input = await sharp(f, { limitInputPixels: false }).rotate()
      .resize(cell - 4, cell - 4, { fit: 'inside' }).png().toBuffer()
      .catch(() => sharp({ create: { width: cell - 4, height: cell - 4, channels: 3, background: '#000' } }).png().toBuffer());
    return { input, left: (i % cols) * cell + 2, top: Math.floor(i / cols) * cell + 2 };
  }));
  await sharp({ create: { width: cols * cell, height: rows * cell, channels: 3, background: '#ff00ff' } })
    .composite(tiles).png().toFile(out);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [out, cols, ...files] = process.argv.slice(2);
  files.forEach((f, i) => console.log(i, f));
  await contactSheet(files, out!, Number(cols));
}
