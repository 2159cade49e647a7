/**
 * Hosted-file bytes, generated on demand from (seed, relativePath): nothing is stored, so 10,000
 * conversations with files cost no memory. Each file starts with a real signature for its type
 * (PNG/JPEG/GIF/PDF) so sniffers and viewers see the type the record claims.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { hashSeed, int, mulberry32 } from './prng.js';

export const FILE_TYPES = ['PNG', 'JPG', 'GIF', 'PDF', 'TXT'] as const;
export type FileType = (typeof FILE_TYPES)[number];

export interface FileSizes {
  min: number;
  max: number;
}

export const DEFAULT_FILE_SIZES: FileSizes = { min: 2 * 1024, max: 200 * 1024 };

export function fileTypeOf(relativePath: string): FileType {
  const ext = relativePath.slice(relativePath.lastIndexOf('.') + 1).toUpperCase();
  return (FILE_TYPES as readonly string[]).includes(ext) ? (ext as FileType) : 'TXT';
}

export function basename(relativePath: string): string {
  return relativePath.slice(relativePath.lastIndexOf('/') + 1);
}

export function fileSize(seed: number, relativePath: string, sizes: FileSizes): number {
  const rng = mulberry32(hashSeed(seed, `size:${relativePath}`));
  return int(rng, sizes.min, Math.max(sizes.min, sizes.max));
}

const PNG_SIG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PNG_IHDR = Buffer.from([
  0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02,
  0x00, 0x00, 0x00, 0x90, 0x77, 0x53, 0xde,
]);

function header(type: FileType, relativePath: string): { head: Buffer; tail: Buffer } {
  switch (type) {
    case 'PNG':
      return { head: Buffer.concat([PNG_SIG, PNG_IHDR]), tail: Buffer.alloc(0) };
    case 'JPG':
      return {
        head: Buffer.from([
          0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00,
        ]),
        tail: Buffer.from([0xff, 0xd9]),
      };
    case 'GIF':
      return { head: Buffer.from('GIF89a', 'latin1'), tail: Buffer.from([0x3b]) };
    case 'PDF':
      return { head: Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1'), tail: Buffer.from('\n%%EOF\n') };
    case 'TXT':
      return { head: Buffer.from(`sandbox file ${basename(relativePath)}\n`), tail: Buffer.alloc(0) };
  }
}

/**
 * The exact bytes the sandbox serves for a hosted file. The body is AES-128-CTR keystream keyed from
 * (seed, relativePath): deterministic, incompressible like real media, and generated at cipher speed.
 */
export function fileBytes(seed: number, relativePath: string, sizes: FileSizes): Buffer {
  const type = fileTypeOf(relativePath);
  const size = fileSize(seed, relativePath, sizes);
  const { head, tail } = header(type, relativePath);
  const length = Math.max(size, head.length + tail.length);
  const end = length - tail.length;
  let out: Buffer;
  if (type === 'TXT') {
    out = Buffer.alloc(length);
    const rng = mulberry32(hashSeed(seed, `bytes:${relativePath}`));
    const alphabet = 'abcdefghijklmnopqrstuvwxyz      \n';
    for (let i = head.length; i < end; i++) out[i] = alphabet.charCodeAt(Math.floor(rng() * alphabet.length));
  } else {
    const key = createHash('sha256').update(`${seed}:${relativePath}`).digest().subarray(0, 16);
    const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
    out = Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()]);
  }
  head.copy(out, 0);
  tail.copy(out, end);
  return out;
}

/** A tiny base64 "thumbnail" as the by-ID method returns in messageData.file.preview (images only). */
export function previewOf(seed: number, relativePath: string): string | undefined {
  const type = fileTypeOf(relativePath);
  if (type !== 'PNG' && type !== 'JPG' && type !== 'GIF') return undefined;
  const rng = mulberry32(hashSeed(seed, `preview:${relativePath}`));
  const pixels = Buffer.alloc(64);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.floor(rng() * 256);
  return `data:image/png;base64,${Buffer.concat([PNG_SIG, PNG_IHDR, deflateSync(pixels)]).toString('base64')}`;
}
