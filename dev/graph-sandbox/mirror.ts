/**
 * Optional copy of every stored item on disk, for eyes and for tools like eml-check:
 * `<dir>/<mailbox address>/<folder path…>/<NNNN>-<internetMessageId>.eml`. Every name that comes from a
 * client (folder names, Message-IDs) is sanitised so nothing can leave `<dir>`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';

const MAX_NAME = 100;

function cleanSegment(name: string, fallback: string): string {
  const s = name
    .normalize('NFC')
    .replace(/[\\/\x00-\x1f\x7f:*?"<>|]/g, '_')
    .replace(/[. ]+$/, '')
    .slice(0, MAX_NAME);
  return s === '' || s === '.' || s === '..' ? fallback : s;
}

export function mirrorAddress(address: string): string {
  return cleanSegment(
    address
      .toLowerCase()
      .replace(/[^a-z0-9._@+-]/g, '_')
      .replace(/^\.+/, '_'),
    '_',
  );
}

export function mirrorFileName(seq: number, internetMessageId: string): string {
  const id = internetMessageId
    .replace(/^<|>$/g, '')
    .replace(/[^A-Za-z0-9._@+=-]/g, '_')
    .slice(0, 120);
  return `${String(seq).padStart(4, '0')}-${id || 'no-message-id'}.eml`;
}

export class Mirror {
  private readonly root: string;

  constructor(dir: string) {
    this.root = resolve(dir);
  }

  pathFor(address: string, folderPath: readonly string[], seq: number, internetMessageId: string): string {
    const parts = [
      mirrorAddress(address),
      ...folderPath.map((n) => cleanSegment(n, '_')),
      mirrorFileName(seq, internetMessageId),
    ];
    const file = resolve(this.root, ...parts);
    // Belt and braces: the sanitising above already rules this out.
    if (!file.startsWith(this.root + sep))
      throw new Error(`graph-sandbox mirror: refusing a path outside ${this.root}`);
    return file;
  }

  async write(file: string, bytes: Buffer): Promise<void> {
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(file, bytes);
  }
}
