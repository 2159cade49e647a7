/**
 * npm run bench:convert — prints figures, asserts nothing.
 *  1. Conversations/s on a generated corpus (2,000 conversations × 40 messages), in the same run:
 *     - the bare reference converter: what a straightforward nodemailer converter does with the same kinds
 *       of parts (a text and an HTML transcript, the source JSON attached), no validation, no version,
 *       MailComposer's own encoders (textEncoding 'B', as the MIME-builder reference recommends);
 *     - convertConversation on one thread, with every check it makes;
 *     - MailComposer alone on the converter's finished parts (the floor of the MIME step);
 *     - the worker pool (lib/email/batch.ts).
 *     The reference and convertConversation take turns in blocks of 50 conversations over the whole
 *     corpus (BENCH_ROUNDS times), so a change in the machine's load hits both alike; the others run
 *     whole rounds and the median counts. Beside wall-clock rates, conversations per CPU-second of this
 *     process: on a shared machine that figure moves less with the load.
 *  2. Peak RSS converting one conversation with 8 × 25 MB of hosted files streamed from generated
 *     Readables (spooled to temporary files while hashed, then streamed into the message).
 */
import { availableParallelism, loadavg } from 'node:os';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import MailComposer from 'nodemailer/lib/mail-composer';
import { createConversionPool } from '../lib/email/batch.js';
import { compose, convertConversation, planConversation } from '../lib/email/convert.js';

const CONVERSATIONS = Number(process.env.BENCH_CONVERSATIONS ?? 2000);
const MESSAGES = 40;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LINES = [
  'Hi, I was charged twice for my last order, can you help?',
  'Sorry to hear that! Let me look into your account right away.',
  'Merci beaucoup, c’est très gentil 🙂',
  'שלום, אני צריך עזרה עם ההזמנה שלי',
  'I can see two payments of €49.90 on 4 March; one will be refunded within 5 working days.',
  'Great, thanks.\nIs there anything I need to do?',
];

// biome-ignore lint/suspicious/noExplicitAny: generated records are plain JSON
type Json = any;

function makeRecord(n: number): Json {
  const id = `bench-${n.toString(16).padStart(8, '0')}-4c55-9a0e-3c2d6c1b9a11`;
  const t0 = 1709543702118 + n * 60_000;
  return {
    info: {
      conversationId: id,
      brandId: '12345678',
      startTimeL: t0,
      endTimeL: t0 + MESSAGES * 15_000,
      status: 'CLOSE',
      latestSkillName: 'Billing',
      source: 'APP',
      device: 'MOBILE',
      closeReason: 'AGENT',
    },
    consumerParticipants: [
      { participantId: `consumer-${n}`, firstName: 'Alex', lastName: `Smith ${n}`, email: 'undefined' },
    ],
    agentParticipants: [{ agentId: '3677470410', agentFullName: 'Jane Doe', role: 'AGENT' }],
    messageRecords: Array.from({ length: MESSAGES }, (_, i) => ({
      type: 'TEXT_PLAIN',
      messageData: { msg: { text: `${LINES[(n + i) % LINES.length]} (#${i})` } },
      messageId: `ms::conv:${id}::msg:${i}`,
      seq: i,
      timeL: t0 + i * 15_000,
      participantId: i % 2 ? '3677470410' : `consumer-${n}`,
      sentBy: i % 2 ? 'Agent' : 'Consumer',
      audience: 'ALL',
    })),
  };
}

async function drain(stream: Readable): Promise<number> {
  let bytes = 0;
  for await (const c of stream) bytes += (c as Buffer).length;
  return bytes;
}

const escapeHtml = (t: string) =>
  t.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
const crlf = (t: string) => t.replace(/\r?\n/g, '\r\n');

/**
 * The bare reference converter: the same kinds of parts as ours (a text and an HTML transcript with each
 * message's time, sender and role, the source record as JSON), written the plain way.
 */
function bare(record: Json): Readable {
  const info = record.info;
  const names = new Map<string, string>();
  for (const c of record.consumerParticipants ?? [])
    names.set(c.participantId, [c.firstName, c.lastName].filter(Boolean).join(' '));
  for (const a of record.agentParticipants ?? []) names.set(a.agentId, a.agentFullName);
  const text: string[] = [`LivePerson conversation ${info.conversationId}`, ''];
  const html: string[] = [
    `<!DOCTYPE html><html><body><h2>LivePerson conversation ${escapeHtml(info.conversationId)}</h2>`,
  ];
  for (const m of record.messageRecords ?? []) {
    const who = names.get(m.participantId) ?? m.sentBy;
    const when = new Date(m.timeL).toISOString();
    const body = m.messageData?.msg?.text ?? '';
    text.push(`[${when}] ${who} (${m.sentBy}):`, body, '');
    html.push(
      `<p><b>${escapeHtml(who)}</b> (${escapeHtml(m.sentBy)}) <small>${when}</small><br>${escapeHtml(body).replace(/\n/g, '<br>')}</p>`,
    );
  }
  html.push('</body></html>');
  const consumer = record.consumerParticipants?.[0];
  return new MailComposer({
    from: { name: names.get(consumer?.participantId) ?? 'Consumer', address: 'consumer@liveperson.invalid' },
    to: (record.agentParticipants ?? []).map((a: Json) => ({
      name: a.agentFullName,
      address: `agent-${a.agentId}@liveperson.invalid`,
    })),
    subject: `LivePerson conversation with ${names.get(consumer?.participantId)} · ${info.latestSkillName}`,
    messageId: `<lp.${info.brandId}.${info.conversationId}@liveperson-archiver.invalid>`,
    date: new Date(info.startTimeL),
    headers: {
      'X-LivePerson-Conversation-Id': info.conversationId,
      'X-LivePerson-Account-Id': info.brandId,
      'X-LivePerson-Skill': info.latestSkillName,
      'X-LivePerson-Status': info.status,
    },
    text: crlf(text.join('\n')),
    html: crlf(html.join('\n')),
    attachments: [
      {
        filename: `conversation-${info.conversationId}.json`,
        contentType: 'application/json',
        content: JSON.stringify(record, null, 2),
      },
    ],
    textEncoding: 'B',
    disableFileAccess: true,
    disableUrlAccess: true,
  })
    .compile()
    .createReadStream();
}

interface Round {
  wall: number;
  cpu: number;
  bytes: number;
}

/** One pass over the corpus: wall seconds, this process's CPU seconds (all threads) and bytes written. */
async function round(fn: () => Promise<number>): Promise<Round> {
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const bytes = await fn();
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { wall, cpu: (cpu.user + cpu.system) / 1e6, bytes };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

function report(label: string, rounds: Round[]): { rate: number; cpuRate: number } {
  const rate = median(rounds.map((r) => CONVERSATIONS / r.wall));
  const cpuRate = median(rounds.map((r) => CONVERSATIONS / r.cpu));
  const each =
    rounds.length > 1
      ? ` (rounds ${rounds.map((r) => (CONVERSATIONS / r.wall).toFixed(0)).join(' / ')})`
      : '';
  console.log(
    `${label.padEnd(46)} ${rate.toFixed(0).padStart(6)} conv/s wall${each}  ${cpuRate.toFixed(0).padStart(6)} conv per CPU-s  ${(
      (rounds[0]?.bytes ?? 0) / CONVERSATIONS / 1024
    ).toFixed(1)} KiB/eml`,
  );
  return { rate, cpuRate };
}

async function throughput() {
  const corpus = Array.from({ length: CONVERSATIONS }, (_, i) => makeRecord(i));
  console.log(
    `corpus: ${CONVERSATIONS} conversations × ${MESSAGES} messages; ${availableParallelism()} CPUs visible; ` +
      `load average ${loadavg()[0]?.toFixed(1)} at start (other processes share the CPUs)`,
  );
  // Warm-up so JIT and module loading do not count against the first contender.
  for (const r of corpus.slice(0, 100)) {
    await drain(bare(r));
    await drain((await convertConversation(r)).eml);
  }
  const contenders: [string, (r: Json) => Promise<number>][] = [
    ['bare reference converter (1 thread)', (r) => drain(bare(r))],
    ['convertConversation (1 thread)', async (r) => drain((await convertConversation(r)).eml)],
  ];
  // Blocks of 50 conversations, the contenders taking turns (and turns about who goes first): a change
  // in the machine's load, or garbage one leaves for the collector, falls on both alike.
  const totals = contenders.map(() => ({ wall: 0, cpu: 0, bytes: 0 }));
  const BLOCK = 50;
  for (let n = 0; n < ROUNDS; n++) {
    for (let b = 0; b < corpus.length; b += BLOCK) {
      const block = corpus.slice(b, b + BLOCK);
      const order = (b / BLOCK + n) % 2 ? [0, 1] : [1, 0];
      for (const i of order) {
        const fn = contenders[i]?.[1] as (r: Json) => Promise<number>;
        const r = await round(async () => {
          let bytes = 0;
          for (const rec of block) bytes += await fn(rec);
          return bytes;
        });
        const t = totals[i] as Round;
        t.wall += r.wall;
        t.cpu += r.cpu;
        t.bytes += r.bytes;
      }
    }
  }
  const [ref, ours] = contenders.map(([label], i) => {
    const t = totals[i] as Round;
    return report(label, [{ wall: t.wall / ROUNDS, cpu: t.cpu / ROUNDS, bytes: t.bytes / ROUNDS }]);
  }) as [{ rate: number; cpuRate: number }, { rate: number; cpuRate: number }];

  // Rendered before the clock starts: only MailComposer is timed.
  const plans = await Promise.all(corpus.map((r) => planConversation(r)));
  const alone: Round[] = [];
  for (let n = 0; n < ROUNDS; n++) {
    alone.push(
      await round(async () => {
        let bytes = 0;
        for (const p of plans) bytes += await drain(compose(p).createReadStream());
        return bytes;
      }),
    );
  }
  report('MailComposer alone on the converter’s parts', alone);
  plans.length = 0;

  const size = Math.max(2, Math.min(availableParallelism(), 4));
  const pool = createConversionPool({ size });
  // Start the workers and warm them as much as the single thread was (100 conversations each).
  await Promise.all(corpus.slice(0, 100 * size).map((r) => pool.convert(r)));
  const pooled: Round[] = [];
  for (let n = 0; n < ROUNDS; n++) {
    pooled.push(
      await round(async () => {
        const results = await Promise.all(corpus.map((r, i) => pool.convert(r, i)));
        return results.reduce((n, r) => n + r.eml.length, 0);
      }),
    );
  }
  await pool.close();
  const pool_ = report(`convertConversation (worker pool, ${size} threads)`, pooled);
  console.log(
    `ratio converter/reference on one thread: ${(ours.rate / ref.rate).toFixed(2)}× wall, ` +
      `${(ours.cpuRate / ref.cpuRate).toFixed(2)}× per CPU-second (≥ 1.00× = at least as fast); ` +
      `pool/reference ${(pool_.rate / ref.rate).toFixed(2)}× wall`,
  );
  console.log(`load average ${loadavg()[0]?.toFixed(1)} at the end`);
}

async function memory() {
  const TOTAL = 200 * 1024 * 1024;
  const FILES = 8;
  const per = TOTAL / FILES;
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  const record = makeRecord(999_999);
  record.messageRecords = record.messageRecords.slice(0, 10);
  for (let i = 0; i < FILES; i++) {
    record.messageRecords.push({
      ...record.messageRecords[0],
      type: 'HOSTED_FILE',
      messageId: `file-${i}`,
      seq: 100 + i,
      messageData: { file: { relativePath: `/v1/f/${i}.PDF`, fileType: 'PDF', caption: `big-${i}.pdf` } },
    });
  }
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  const start = process.hrtime.bigint();
  const result = await convertConversation(record, {
    files: async () => ({
      status: 'ok',
      // A generated stream: never a whole file in memory.
      content: Readable.from(
        (function* () {
          for (let sent = 0; sent < per; sent += chunk.length) yield chunk;
        })(),
      ),
    }),
  });
  let bytes = 0;
  await pipeline(
    result.eml,
    new Writable({
      write(c: Buffer, _e, cb) {
        bytes += c.length;
        cb();
      },
    }),
  );
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  const mb = (n: number) => (n / 1024 / 1024).toFixed(0);
  console.log(
    `one conversation with ${FILES} × ${mb(per)} MB files (streamed, spooled while hashed): ${mb(bytes)} MB .eml in ${s.toFixed(2)} s; ` +
      `RSS ${mb(before)} MB before → peak ${mb(peak)} MB (+${mb(peak - before)} MB)`,
  );
}

// Memory first, before the corpus and the pool inflate the baseline RSS.
await memory();
await throughput();
