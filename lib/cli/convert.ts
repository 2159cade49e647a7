/**
 * `lp-archive convert FILE... --out DIR [--users USERS.json] [--address-domain DOMAIN]`
 * Offline conversion of saved Messaging Interactions answers into .eml files. A record that fails is
 * reported on stderr (file, record, field) and the rest are still converted; exit status 1 if any failed.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createConversionPool } from '../email/batch.js';
import { ConversionError, convertConversation } from '../email/convert.js';
import { isValidDomain, safeToken } from '../email/text.js';
import { type UsersDirectory, UsersResponseSchema, usersDirectory } from '../liveperson/users-schema.js';
import { printable } from './terminal-text.js';

export const USAGE = `Usage: lp-archive convert FILE... --out DIR [--users USERS.json] [--address-domain DOMAIN] [--threads N]

Converts LivePerson Messaging Interactions conversation records into one .eml file per conversation.

  FILE                   a Messaging Interactions response ({"conversationHistoryRecords": [...]}),
                         a single conversation record, or an array of records
  --out DIR              where to write <conversation-id>.eml (created if missing)
  --users USERS.json     a Users API answer (array of user entities) to resolve agents' addresses
  --address-domain D     domain of synthetic addresses for participants without one
                         (default liveperson.invalid)
  --threads N            convert on N worker threads (default 1: in this process)
  -h, --help             show this help

Prints "ok <id> <file> [partial: reasons]" per conversation. Hosted files are not fetched offline, so
conversations with files are reported partial. Exit status: 0 all converted, 1 some failed, 2 usage.`;

function recordsOf(doc: unknown): unknown[] {
  if (Array.isArray(doc)) return doc;
  if (
    doc &&
    typeof doc === 'object' &&
    Array.isArray((doc as { conversationHistoryRecords?: unknown }).conversationHistoryRecords)
  ) {
    return (doc as { conversationHistoryRecords: unknown[] }).conversationHistoryRecords;
  }
  return [doc];
}

/** File name of a conversation's .eml: readable, safe on every file system, unique per id. */
export function emlFileName(conversationId: string): string {
  const token = safeToken(conversationId, 100);
  // Ids that needed changing get a short hash so two different ids never share a file.
  if (token === conversationId) return `${token}.eml`;
  return `${token}-${createHash('sha256').update(conversationId).digest('hex').slice(0, 8)}.eml`;
}

export async function run(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    process.stderr.write(
      `lp-archive convert: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}\n`,
    );
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.out || positionals.length === 0) {
    process.stderr.write(
      `lp-archive convert: ${values.out ? 'no input FILE' : '--out DIR is required'}\n\n${USAGE}\n`,
    );
    return 2;
  }

  let users: UsersDirectory | undefined;
  if (values.users) {
    try {
      users = usersDirectory(UsersResponseSchema.parse(JSON.parse(await readFile(values.users, 'utf8'))));
    } catch (err) {
      process.stderr.write(
        `lp-archive convert: cannot read users file ${printable(values.users)}: ${printable(describe(err))}\n`,
      );
      return 2;
    }
  }

  const addressDomain = values['address-domain'];
  if (addressDomain !== undefined && !isValidDomain(addressDomain)) {
    process.stderr.write(
      `lp-archive convert: --address-domain is not a domain name: ${printable(addressDomain)}\n`,
    );
    return 2;
  }
  const threads = values.threads === undefined ? 1 : Number(values.threads);
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    process.stderr.write(`lp-archive convert: --threads must be a whole number from 1 to 64\n`);
    return 2;
  }

  const pool = threads > 1 ? createConversionPool({ size: threads, users, addressDomain }) : undefined;
  const convertOne = async (record: unknown, recordIndex: number): Promise<Converted> => {
    if (pool) return pool.convert(record, recordIndex);
    const r = await convertConversation(record, { users, addressDomain, recordIndex });
    const chunks: Buffer[] = [];
    for await (const c of r.eml) chunks.push(c as Buffer);
    return { conversationId: r.conversationId, partialReasons: r.partialReasons, eml: Buffer.concat(chunks) };
  };

  await mkdir(values.out, { recursive: true });
  let failed = 0;
  try {
    for (const file of positionals) {
      let records: unknown[];
      try {
        records = recordsOf(JSON.parse(await readFile(file, 'utf8')));
      } catch (err) {
        process.stderr.write(`error ${printable(file)}: cannot read JSON: ${printable(describe(err))}\n`);
        failed++;
        continue;
      }
      // A bounded window keeps every thread busy without holding a whole file's messages in memory;
      // results are written and reported in input order.
      const window = threads * 4;
      for (let start = 0; start < records.length; start += window) {
        const batch = records.slice(start, start + window);
        const settled = await Promise.allSettled(batch.map((record, i) => convertOne(record, start + i)));
        for (const [i, outcome] of settled.entries()) {
          const index = start + i;
          try {
            if (outcome.status === 'rejected') throw outcome.reason;
            const result = outcome.value;
            const target = join(values.out, emlFileName(result.conversationId));
            // Write then rename, so an interrupted run never leaves a truncated .eml behind.
            await writeFile(`${target}.tmp`, result.eml);
            await rename(`${target}.tmp`, target);
            const partial = result.partialReasons.length
              ? ` [partial: ${result.partialReasons.join('; ')}]`
              : '';
            // IDs, names and reasons come from the data: never let them drive the terminal.
            process.stdout.write(
              `ok ${printable(result.conversationId)} ${printable(target)}${printable(partial)}\n`,
            );
          } catch (err) {
            failed++;
            const message = describe(err);
            const where =
              err instanceof ConversionError && message.startsWith('record #') ? '' : ` record #${index}:`;
            process.stderr.write(`error ${printable(file)}:${where} ${printable(message)}\n`);
          }
        }
      }
    }
  } finally {
    await pool?.close();
  }
  return failed ? 1 : 0;
}

interface Converted {
  conversationId: string;
  partialReasons: string[];
  eml: Buffer;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      out: { type: 'string', short: 'o' },
      users: { type: 'string' },
      'address-domain': { type: 'string' },
      threads: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
