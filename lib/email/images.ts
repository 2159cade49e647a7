/**
 * Which attached files a mail client can show inline: PNG, JPEG, GIF and WebP, recognised by their
 * leading bytes (never by the name or the type LivePerson claims), with the pixel size when the first
 * bytes tell it, so the transcript can give Outlook a width (it ignores CSS max-width). SVG and anything
 * else stays a plain attachment.
 */

export interface ImageInfo {
  contentType: 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp';
  width?: number;
  height?: number;
}

/** How many leading bytes sniffImage looks at (a JPEG's size can sit after a large EXIF block). */
export const SNIFF_BYTES = 128 * 1024;

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(b: Buffer, sig: readonly number[]): boolean {
  if (b.length < sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (b[i] !== sig[i]) return false;
  return true;
}

function sized(info: ImageInfo, width: number, height: number): ImageInfo {
  return width > 0 && height > 0 ? { ...info, width, height } : info;
}

function jpegSize(b: Buffer): { width: number; height: number } | undefined {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1] as number;
    if (marker === 0xff) {
      i++;
      continue;
    }
    // Markers without a length: TEM, RSTn, SOI.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      i += 2;
      continue;
    }
    const length = b.readUInt16BE(i + 2);
    // SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
    }
    if (marker === 0xda || length < 2) return undefined; // image data starts: no frame header seen
    i += 2 + length;
  }
  return undefined;
}

/** The image type of `head` (a file's first bytes), or undefined when it is not an inline-able image. */
export function sniffImage(head: Buffer): ImageInfo | undefined {
  if (startsWith(head, PNG)) {
    const info: ImageInfo = { contentType: 'image/png' };
    return head.length >= 24 && head.toString('latin1', 12, 16) === 'IHDR'
      ? sized(info, head.readUInt32BE(16), head.readUInt32BE(20))
      : info;
  }
  if (startsWith(head, [0xff, 0xd8, 0xff])) {
    const size = jpegSize(head);
    const info: ImageInfo = { contentType: 'image/jpeg' };
    return size ? sized(info, size.width, size.height) : info;
  }
  const tag = head.toString('latin1', 0, 6);
  if (tag === 'GIF87a' || tag === 'GIF89a') {
    const info: ImageInfo = { contentType: 'image/gif' };
    return head.length >= 10 ? sized(info, head.readUInt16LE(6), head.readUInt16LE(8)) : info;
  }
  if (head.length >= 16 && tag.slice(0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP') {
    const info: ImageInfo = { contentType: 'image/webp' };
    const chunk = head.toString('latin1', 12, 16);
    if (chunk === 'VP8X' && head.length >= 30) {
      return sized(info, 1 + head.readUIntLE(24, 3), 1 + head.readUIntLE(27, 3));
    }
    if (chunk === 'VP8 ' && head.length >= 30) {
      return sized(info, head.readUInt16LE(26) & 0x3fff, head.readUInt16LE(28) & 0x3fff);
    }
    if (chunk === 'VP8L' && head.length >= 25) {
      const bits = head.readUInt32LE(21);
      return sized(info, 1 + (bits & 0x3fff), 1 + ((bits >> 14) & 0x3fff));
    }
    return info;
  }
  return undefined;
}
