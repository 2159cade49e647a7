/**
 * The optional mapping CSV (MAILBOX_MAPPING_BLOB): LivePerson agent id, login name or e-mail → Microsoft
 * 365 address, for agents whose LivePerson address is not their mailbox. A header row names the two
 * columns (`liveperson,microsoft365`; aliases accepted). A bad line is reported with its line number and
 * field and left out (those agents fall back to automatic mapping); a key mapped to two different
 * addresses is left out too, never guessed.
 */
import type { ContainerClient } from '@azure/storage-blob';
import { parse } from 'csv-parse/sync';
import { validEmail } from '../email/text.js';
import type { Logger } from '../log.js';

const SOURCE_HEADERS = ['liveperson', 'lp', 'agentid', 'agent', 'loginname', 'login', 'email', 'source'];
const TARGET_HEADERS = ['microsoft365', 'm365', 'upn', 'mailbox', 'target', 'address'];

export interface MappingProblem {
  line: number;
  field: string;
  message: string;
}

export interface MappingTable {
  /** Lower-cased LivePerson key (agent id, login name or e-mail) → Microsoft 365 address. */
  entries: ReadonlyMap<string, string>;
  problems: MappingProblem[];
}

export const EMPTY_MAPPING: MappingTable = { entries: new Map(), problems: [] };

export function parseMappingCsv(text: string): MappingTable {
  const rows = parse(text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n'), {
    relax_column_count: true,
    skip_empty_lines: true,
    trim: true,
    info: true,
  }) as unknown as { record: string[]; info: { lines: number } }[];
  const problems: MappingProblem[] = [];
  const header = rows[0]?.record.map((h) => h.toLowerCase().replace(/[\s_-]+/g, ''));
  const src = header?.findIndex((h) => SOURCE_HEADERS.includes(h)) ?? -1;
  const dst = header?.findIndex((h) => TARGET_HEADERS.includes(h)) ?? -1;
  if (src < 0 || dst < 0) {
    return {
      entries: new Map(),
      problems: [
        {
          line: 1,
          field: 'header',
          message: `the first line must name the columns, e.g. "liveperson,microsoft365" (got "${rows[0]?.record.join(',') ?? ''}")`,
        },
      ],
    };
  }
  const entries = new Map<string, string>();
  const conflicted = new Set<string>();
  for (const { record, info } of rows.slice(1)) {
    const line = info.lines;
    const key = (record[src] ?? '').trim().toLowerCase();
    const rawTarget = (record[dst] ?? '').trim();
    if (!key) {
      problems.push({ line, field: header![src]!, message: 'empty LivePerson id, login name or e-mail' });
      continue;
    }
    const target = validEmail(rawTarget);
    if (!target) {
      problems.push({
        line,
        field: header![dst]!,
        message: `"${rawTarget.slice(0, 100)}" is not an e-mail address`,
      });
      continue;
    }
    const before = entries.get(key);
    if (before !== undefined && before !== target) {
      conflicted.add(key);
      problems.push({
        line,
        field: header![src]!,
        message: `"${key}" is mapped to two addresses (${before}, ${target}); both left out`,
      });
      continue;
    }
    entries.set(key, target);
  }
  for (const k of conflicted) entries.delete(k);
  return { entries, problems };
}

/** Looks up a participant by agent id, then login name, then e-mail. */
export function lookupOverride(
  table: MappingTable,
  p: { id: string; loginName?: string | undefined; address?: string | undefined },
): string | undefined {
  for (const k of [p.id, p.loginName, p.address]) {
    if (!k) continue;
    const hit = table.entries.get(k.toLowerCase());
    if (hit) return hit;
  }
  return undefined;
}

/** Reads the CSV from blob storage, re-reading only when its ETag changes (checked at most every ttlMs). */
export class MappingSource {
  private cached: { etag: string; table: MappingTable; checkedAt: number } | undefined;

  constructor(
    private readonly container: ContainerClient | undefined,
    private readonly blobName: string | undefined,
    private readonly logger: Logger,
    private readonly ttlMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  async table(): Promise<MappingTable> {
    if (!this.container || !this.blobName) return EMPTY_MAPPING;
    if (this.cached && this.now() - this.cached.checkedAt < this.ttlMs) return this.cached.table;
    const blob = this.container.getBlobClient(this.blobName);
    const props = await blob.getProperties(); // a missing file fails planning: it is retried, not ignored
    if (this.cached && props.etag === this.cached.etag) {
      this.cached.checkedAt = this.now();
      return this.cached.table;
    }
    if ((props.contentLength ?? 0) > 10 * 1024 * 1024)
      throw new Error(`mapping CSV ${this.blobName} is larger than 10 MB`);
    const text = (await blob.downloadToBuffer()).toString('utf8');
    const table = parseMappingCsv(text);
    for (const p of table.problems)
      this.logger.warn('mailbox mapping CSV: line left out', {
        file: this.blobName,
        line: p.line,
        field: p.field,
        problem: p.message,
      });
    this.cached = { etag: props.etag ?? '', table, checkedAt: this.now() };
    return table;
  }
}
