import { inflateSync } from 'node:zlib';

/**
 * True when a PNG's pixels are (almost) all one colour: a page that rendered nothing. Reads the
 * IHDR and IDAT chunks (PNG spec §11.2), inflates the scanlines and counts distinct byte values
 * of the pixel data, skipping each row's filter byte.
 */
export function pngIsBlank(png: Buffer): boolean {
  if (png.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let width = 0;
  let bpp = 4;
  const idat: Buffer[] = [];
  for (let off = 8; off < png.length;) {
    const len = png.readUInt32BE(off);
    const type = png.toString('ascii', off + 4, off + 8);
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      bpp = data[9] === 2 ? 3 : data[9] === 6 ? 4 : 1;
    } else if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp + 1;
  const seen = new Set<number>();
  for (let row = 0; row + stride <= raw.length; row += stride) {
    for (let i = row + 1; i < row + stride; i++) seen.add(raw[i]!);
    if (seen.size > 16) return false;
  }
  return true;
}
