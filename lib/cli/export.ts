/**
 * `lp-archive export --from DATE --to DATE --out DIR [--status CLOSE,OPEN] [--concurrency N]`
 * One-shot backfill/evaluation: every conversation whose start is in [from, to) is fetched from LivePerson
 * (with its hosted files and the users directory) and written as DIR/<conversation-id>.eml. No Azure.
 * Re-runs write the same files (names from the conversation id; written to a temp name, then renamed).
 * A record that fails is reported on stderr (conversation id + field) and the rest go on; exit 1 if any
 * failed, 2 for bad usage or configuration.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';
import { ConversionError, convertConversation } from '../email/convert.js';
import {
  type ArchiverLivePersonClient,
  type ClientDeps,
  createLivePersonClient,
} from '../liveperson/client.js';
import { ConfigError, type LivePersonConfig, readLivePersonConfig } from '../liveperson/config.js';
import type { ConversationStatus } from '../liveperson/contract.js';
import { hostedFilePaths } from '../liveperson/hosted-files.js';
import type { UsersDirectory } from '../liveperson/users-schema.js';
import { emlFileName } from './convert.js';
import { printable } from './terminal-text.js';

export const USAGE = `Usage: lp-archive export --from DATE --to DATE --out DIR [options]

Fetches every LivePerson conversation whose start is in [--from, --to) and writes one
<conversation-id>.eml per conversation into DIR, hosted files attached. No Azure involved.

  --from DATE            start of the range, inclusive (ISO 8601; a bare date is UTC midnight)
  --to DATE              end of the range, exclusive
  --out DIR              output directory (created if missing)
  --status LIST          CLOSE, OPEN or CLOSE,OPEN (default: both)
  --concurrency N        conversions in flight (default LP_CONCURRENCY, 4)
  --address-domain D     domain of synthetic participant addresses (default liveperson.invalid)
  -h, --help             show this help

Settings come from the environment: LP_ACCOUNT_ID and LP_APP_KEY/LP_APP_SECRET/LP_ACCESS_TOKEN/
LP_ACCESS_TOKEN_SECRET and/or LP_CLIENT_ID/LP_CLIENT_SECRET (OAuth 2.0, needed for hosted files);
optional LP_CSDS_URL, LP_ALLOWED_HOSTS, LP_SOURCE, LP_CONCURRENCY, LP_TIMEOUT_MS, LP_RETRY_PAUSES_MS.
Exit status: 0 all exported, 1 some failed, 2 usage or configuration error.`;

export interface ExportSummary {
  exported: number;
  partial: number;
  failed: number;
  calls: Record<string, number>;
}

export interface ExportIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

class UsageError extends Error {}

function parseDate(name: string, value: string | undefined): number {
  if (!value) throw new UsageError(`--${name} DATE is required`);
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
  const t = /^\d{4}-\d{2}-\d{2}T/.test(iso) ? Date.parse(iso) : Number.NaN;
  if (Number.isNaN(t)) throw new UsageError(`--${name} '${value}' is not an ISO 8601 date or date-time`);
  return t;
}

function parseStatus(value: string | undefined): ConversationStatus[] | undefined {
  if (!value) return undefined;
  const list = value.split(',').map((s) => s.trim().toUpperCase());
  for (const s of list)
    if (s !== 'OPEN' && s !== 'CLOSE') throw new UsageError(`--status '${s}' must be OPEN or CLOSE`);
  return [...new Set(list)] as ConversationStatus[];
}

function conversationIdOf(record: unknown): string | undefined {
  const id = (record as { info?: { conversationId?: unknown } } | null)?.info?.conversationId;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function formatCalls(calls: Record<string, number>): string {
  const total = Object.values(calls).reduce((a, b) => a + b, 0);
  const parts = Object.entries(calls)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${v}`);
  return `${total}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

type CliProgress = typeof import('cli-progress');

/**
 * cli-progress draws the bar; it is a development dependency (the deployed function app never needs it),
 * so a checkout installed without it prints plain progress lines instead.
 */
async function loadCliProgress(): Promise<CliProgress | undefined> {
  try {
    const mod = (await import('cli-progress')) as CliProgress & { default?: CliProgress };
    return mod.default ?? mod;
  } catch {
    return undefined;
  }
}

/** Progress on a terminal (a bar), or plain lines for logs. */
function progressReporter(io: ExportIo, cliProgress: CliProgress | undefined) {
  if (io.stderr.isTTY && cliProgress) {
    const bar = new cliProgress.SingleBar(
      {
        stream: io.stderr,
        format: 'export [{bar}] {value}/{total} conversations | failed {failed}',
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      total(n: number) {
        if (!started) bar.start(n, 0, { failed: 0 });
        else bar.setTotal(n);
        started = true;
      },
      tick(done: number, failed: number) {
        if (started) bar.update(done, { failed });
      },
      stop: () => started && bar.stop(),
    };
  }
  let lastLine = 0;
  let total = 0;
  return {
    total(n: number) {
      total = n;
    },
    tick(done: number, failed: number) {
      if (done - lastLine >= 100) {
        lastLine = done;
        io.stderr.write(`progress: ${done}/${total} conversations, ${failed} failed\n`);
      }
    },
    stop() {},
  };
}

export interface ExportOptions {
  from: number;
  /** Exclusive. */
  to: number;
  out: string;
  status?: ConversationStatus[];
  concurrency: number;
  addressDomain?: string;
}

/** The export itself, with the client given (tests and the benchmark pass their own). */
export async function exportConversations(
  client: ArchiverLivePersonClient,
  opts: ExportOptions,
  io: ExportIo,
): Promise<ExportSummary> {
  await mkdir(opts.out, { recursive: true });
  const users: UsersDirectory = await client.getUsers();
  const limit = pLimit(opts.concurrency);
  const progress = progressReporter(io, io.stderr.isTTY ? await loadCliProgress() : undefined);
  const summary: ExportSummary = { exported: 0, partial: 0, failed: 0, calls: {} };
  let knownTotal = 0;
  let windowTotal = 0;

  const exportOne = async (
    record: unknown,
    index: number,
    group: ReturnType<ArchiverLivePersonClient['hostedFilesOf']>,
  ): Promise<void> => {
    const id = conversationIdOf(record);
    const files = id ? group.provider(id) : undefined;
    let tmp: string | undefined;
    try {
      const result = await convertConversation(record, {
        users,
        files,
        addressDomain: opts.addressDomain,
        recordIndex: index,
      });
      const target = join(opts.out, emlFileName(result.conversationId));
      tmp = `${target}.${process.pid}.tmp`;
      // Stream to a temp name and rename: a crash never leaves a half file under the final name.
      await pipeline(result.eml, createWriteStream(tmp));
      await rename(tmp, target);
      tmp = undefined;
      summary.exported++;
      if (result.partialReasons.length > 0) {
        summary.partial++;
        io.stderr.write(
          `partial conversation ${printable(result.conversationId)}: ${printable(result.partialReasons.join('; '))}\n`,
        );
      }
    } catch (err) {
      summary.failed++;
      const text = message(err);
      const label = id ? `conversation ${id}` : `record #${index} (no conversation id)`;
      const field = err instanceof ConversionError ? ` [field ${err.field}]` : '';
      // IDs, fields and LivePerson's error texts come from outside: never let them drive the terminal.
      io.stderr.write(`${printable(`error ${text.includes(label) ? '' : `${label}: `}${text}${field}`)}\n`);
    } finally {
      if (tmp) await rm(tmp, { force: true });
      progress.tick(summary.exported + summary.failed, summary.failed);
    }
  };

  let previousPage: Promise<unknown> = Promise.resolve();
  let index = 0;
  try {
    for await (const page of client.searchConversations({
      start: { from: opts.from, to: opts.to - 1 },
      status: opts.status,
    })) {
      if (page.offset === 0) {
        knownTotal += windowTotal;
        windowTotal = 0;
      }
      windowTotal = Math.max(windowTotal, page.total);
      progress.total(knownTotal + windowTotal);
      // Overlap one page of conversion with fetching the next; never more, so memory stays bounded.
      await previousPage;
      // A page's hosted files come in one Bulk File Download request (LP_FILES_REQUEST), each ZIP once.
      const group = client.hostedFilesOf(
        page.records.flatMap((r) => {
          const id = conversationIdOf(r);
          return id ? [{ conversationId: id, relativePaths: hostedFilePaths(r) }] : [];
        }),
      );
      previousPage = Promise.all(page.records.map((r) => limit(() => exportOne(r, index++, group)))).finally(
        () => group.dispose(),
      );
    }
    await previousPage;
  } finally {
    progress.stop();
  }
  summary.calls = client.callCounts();
  return summary;
}

/** The CLI entry with its environment passed in (tests use this; `run` passes process.env). */
export async function runExport(
  argv: string[],
  env: Record<string, string | undefined>,
  io: ExportIo,
  deps: ClientDeps = {},
): Promise<number> {
  let opts: ExportOptions;
  let config: LivePersonConfig;
  try {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        out: { type: 'string', short: 'o' },
        status: { type: 'string' },
        concurrency: { type: 'string' },
        'address-domain': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      io.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const from = parseDate('from', values.from);
    const to = parseDate('to', values.to);
    if (to <= from) throw new UsageError('--to must be after --from');
    if (!values.out) throw new UsageError('--out DIR is required');
    config = readLivePersonConfig(env);
    let concurrency = config.concurrency;
    if (values.concurrency !== undefined) {
      concurrency = Number(values.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
        throw new UsageError('--concurrency must be a whole number from 1 to 64');
    }
    opts = {
      from,
      to,
      out: values.out,
      status: parseStatus(values.status),
      concurrency,
      addressDomain: values['address-domain'],
    };
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr.write(`lp-archive export: ${err.message}\n`);
    } else {
      io.stderr.write(`lp-archive export: ${printable(message(err))}\n\n${USAGE}\n`);
    }
    return 2;
  }

  const client = createLivePersonClient(config, deps);
  let summary: ExportSummary;
  try {
    summary = await exportConversations(client, opts, io);
  } catch (err) {
    io.stderr.write(`lp-archive export: stopped: ${printable(message(err))}\n`);
    io.stdout.write(`LivePerson calls ${formatCalls(client.callCounts())}\n`);
    return 1;
  }
  io.stdout.write(
    `exported ${summary.exported} (partial ${summary.partial}), failed ${summary.failed}, ` +
      `LivePerson calls ${formatCalls(summary.calls)}\n`,
  );
  return summary.failed > 0 ? 1 : 0;
}

export async function run(argv: string[]): Promise<number> {
  return runExport(argv, { ...process.env }, { stdout: process.stdout, stderr: process.stderr });
}
