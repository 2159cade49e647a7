/**
 * Reading a Bulk File Download ZIP without trusting it: the entry count is checked before any entry is
 * read, each entry's declared size and compression ratio before it is expanded, and an entry is expanded
 * to a temp file through a byte counter and a CRC-32 check (yauzl checks sizes but not checksums), so a
 * bad entry is found before the item is composed and costs only its own file, never the others.
 *
 * Names are decoded here rather than by yauzl: yauzl stops reading the whole archive at the first name it
 * considers unsafe (absolute, `..`), and one odd name must not hide every other file. Names are only
 * compared, never used as paths on disk.
 */
import { createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import type { MissingFileCode } from '../email/contract.js';

export interface ZipLimits {
  /** Expanded size of one file. */
  maxFileBytes: number;
  /** Expanded size over compressed size of one entry (checked for entries over 1 MiB). */
  maxRatio: number;
  /** Entries in one archive (LivePerson documents at most 50 files per archive). */
  maxEntries: number;
}

/** Entries this small are never a bomb, whatever their ratio (highly repetitive small text files are normal). */
const RATIO_FLOOR_BYTES = 1024 * 1024;

export interface ZipEntry {
  /** The entry name as stored (UTF-8, or Latin-1 without the UTF-8 flag), leading slashes removed. */
  name: string;
  /** Which archive of the request it came from (1-based), for messages. */
  archive: number;
  entry: yauzl.Entry;
  zip: yauzl.ZipFile;
}

export type Problem = { code: MissingFileCode; reason: string };

export type OpenedZip = { zip: yauzl.ZipFile; entries: ZipEntry[] } | { problem: Problem };

const mb = (n: number) => `${Math.round((n / 1024 / 1024) * 10) / 10} MB`;

function decodeName(entry: yauzl.Entry): string {
  const raw = entry.fileName as unknown as Buffer;
  // General purpose flag bit 11: the name is UTF-8. Without it, Latin-1 keeps every byte distinct.
  return raw.toString(entry.generalPurposeBitFlag & 0x800 ? 'utf8' : 'latin1').replace(/^\/+/, '');
}

function open(path: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(
      path,
      { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true },
      (err, zip) => (err ? reject(err) : resolve(zip)),
    ),
  );
}

/** Opens one downloaded archive and lists its file entries, or says why it cannot be used. */
export async function openZip(path: string, archive: number, limits: ZipLimits): Promise<OpenedZip> {
  let zip: yauzl.ZipFile;
  try {
    zip = await open(path);
  } catch (err) {
    return {
      problem: { code: 'unsafe-archive', reason: `archive ${archive} is not a readable ZIP (${msg(err)})` },
    };
  }
  if (zip.entryCount > limits.maxEntries) {
    zip.close();
    return {
      problem: {
        code: 'unsafe-archive',
        reason: `archive ${archive} has ${zip.entryCount} entries, over the limit of ${limits.maxEntries} (LP_FILES_MAX_ENTRIES); not expanded`,
      },
    };
  }
  try {
    const entries = await new Promise<ZipEntry[]>((resolve, reject) => {
      const out: ZipEntry[] = [];
      zip.on('entry', (entry: yauzl.Entry) => {
        const name = decodeName(entry);
        if (!name.endsWith('/')) out.push({ name, archive, entry, zip });
        zip.readEntry();
      });
      zip.once('end', () => resolve(out));
      zip.once('error', reject);
      zip.readEntry();
    });
    return { zip, entries };
  } catch (err) {
    zip.close();
    return { problem: { code: 'unsafe-archive', reason: `archive ${archive} is damaged (${msg(err)})` } };
  }
}

/** Why an entry must not be expanded at all, judged from its headers alone; undefined when it may be. */
export function entryProblem(e: ZipEntry, limits: ZipLimits): Problem | undefined {
  const size = e.entry.uncompressedSize;
  if (size > limits.maxFileBytes) {
    return {
      code: 'too-large',
      reason: `file is ${mb(size)} expanded, over the limit of ${mb(limits.maxFileBytes)} (LP_FILES_MAX_FILE_MB)`,
    };
  }
  const ratio = size / Math.max(1, e.entry.compressedSize);
  if (size > RATIO_FLOOR_BYTES && ratio > limits.maxRatio) {
    return {
      code: 'unsafe-archive',
      reason: `archive entry expands ${Math.round(ratio)}:1, over the limit of ${limits.maxRatio}:1 (LP_FILES_MAX_RATIO); not expanded`,
    };
  }
  if (e.entry.isEncrypted() || (e.entry.compressionMethod !== 0 && e.entry.compressionMethod !== 8)) {
    return {
      code: 'unsafe-archive',
      reason: 'archive entry is encrypted or uses an unsupported compression',
    };
  }
  return undefined;
}

/**
 * Expands one entry into `dest`, never past its declared size, and checks its CRC-32. A damaged entry
 * answers a problem; a local failure (disk full) throws, so the conversation is retried.
 */
export async function extractEntry(
  e: ZipEntry,
  dest: string,
  limits: ZipLimits,
): Promise<Problem | undefined> {
  const early = entryProblem(e, limits);
  if (early) return early;
  let source: NodeJS.ReadableStream;
  try {
    source = await new Promise((resolve, reject) =>
      e.zip.openReadStream(e.entry, (err, stream) => (err ? reject(err) : resolve(stream))),
    );
  } catch (err) {
    return { code: 'unsafe-archive', reason: `archive entry cannot be read (${msg(err)})` };
  }
  let sourceError: unknown;
  source.once('error', (err) => {
    sourceError = err;
  });
  let crc = 0;
  let seen = 0;
  const declared = e.entry.uncompressedSize;
  const check = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > declared) {
        sourceError = new Error(`expands past its declared ${declared} bytes`);
        done(sourceError as Error);
        return;
      }
      crc = crc32(chunk, crc);
      done(null, chunk);
    },
  });
  try {
    await pipeline(source, check, createWriteStream(dest));
  } catch (err) {
    if (sourceError === undefined) throw err; // the local side failed: not the archive's fault
    return { code: 'unsafe-archive', reason: `archive entry is damaged (${msg(sourceError)})` };
  }
  if (seen !== declared || crc >>> 0 !== e.entry.crc32 >>> 0) {
    return { code: 'unsafe-archive', reason: 'archive entry fails its checksum (damaged or forged)' };
  }
  return undefined;
}

function msg(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 200);
}
