/**
 * npm run bench:convert — prints figures, asserts nothing.
 *  1. Conversations/s on a generated corpus (2,000 conversations × 40 messages): the converter on one
 *     thread, the same through the worker pool (lib/email/batch.ts), and bare MailComposer (same headers,
 *     a trivial body of the messages joined, no rendering) as the baseline. A second reference line
 *     times MailComposer alone on the parts as the converter hands them over (text and HTML transcripts
 *     already quoted-printable, the source JSON attachment): the floor for a message of this content.
 *  2. Peak RSS converting one conversation with 200 MB of hosted files streamed from generated Readables.
 */
import { availableParallelism, loadavg } from 'node:os';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import MailComposer from 'nodemailer/lib/mail-composer';
import { createConversionPool } from '../lib/email/batch.js';
import { convertConversation, planConversation } from '../lib/email/convert.js';

const CONVERSATIONS = Number(process.env.BENCH_CONVERSATIONS ?? 2000);
const MESSAGES = 40;
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

function bare(record: ReturnType<typeof makeRecord>): Readable {
  const text = record.messageRecords.map((m: Json) => m.messageData.msg.text).join('\r\n');
  return new MailComposer({
    from: { name: 'Alex Smith', address: 'alex@example.com' },
    to: [{ name: 'Jane Doe', address: 'agent-3677470410@liveperson.invalid' }],
    subject: `LivePerson conversation with Alex Smith · Billing · 2024-03-04`,
    messageId: `<lp.12345678.${record.info.conversationId}.0123456789abcdef@liveperson-archiver.invalid>`,
    date: new Date(record.info.startTimeL),
    headers: {
      'X-LivePerson-Conversation-Id': record.info.conversationId,
      'X-LivePerson-Account-Id': '12345678',
      'X-LivePerson-Skill': 'Billing',
      'X-LivePerson-Channel': 'APP / MOBILE',
      'X-LivePerson-Status': 'CLOSE',
    },
    text,
    disableFileAccess: true,
    disableUrlAccess: true,
  })
    .compile()
    .createReadStream();
}

/** Wall time, plus the CPU time of the whole process (all threads), to compare work done on a shared machine. */
async function timed(label: string, fn: () => Promise<number>): Promise<number> {
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const bytes = await fn();
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const rate = CONVERSATIONS / s;
  console.log(
    `${label.padEnd(44)} ${s.toFixed(2).padStart(7)} s wall  ${rate.toFixed(0).padStart(6)} conv/s  ` +
      `process CPU (all threads) ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s  ${(bytes / CONVERSATIONS / 1024).toFixed(1)} KiB/eml`,
  );
  return rate;
}

async function throughput() {
  const corpus = Array.from({ length: CONVERSATIONS }, (_, i) => makeRecord(i));
  console.log(
    `corpus: ${CONVERSATIONS} conversations × ${MESSAGES} messages; ${availableParallelism()} CPUs visible; ` +
      `load average ${loadavg()[0]?.toFixed(1)} (other processes share the CPUs)`,
  );
  // Warm-up so JIT and module loading do not count against the first contender.
  for (const r of corpus.slice(0, 50)) {
    await drain(bare(r));
    await drain((await convertConversation(r)).eml);
  }
  const baseline = await timed('bare MailComposer (baseline, 1 thread)', async () => {
    let bytes = 0;
    for (const r of corpus) bytes += await drain(bare(r));
    return bytes;
  });
  // Rendered before the clock starts: only MailComposer is timed.
  const plans = await Promise.all(corpus.map((r) => planConversation(r)));
  await timed('MailComposer alone on the converter’s parts', async () => {
    let bytes = 0;
    for (const p of plans) bytes += await drain(new MailComposer({ ...p.mail }).compile().createReadStream());
    return bytes;
  });
  plans.length = 0;
  const single = await timed('convertConversation (1 thread)', async () => {
    let bytes = 0;
    for (const r of corpus) bytes += await drain((await convertConversation(r)).eml);
    return bytes;
  });
  const size = Math.max(2, Math.min(availableParallelism(), 4));
  const pool = createConversionPool({ size });
  // Start the workers and warm them as much as the single thread was (50 conversations each).
  await Promise.all(corpus.slice(0, 50 * size).map((r) => pool.convert(r)));
  const pooled = await timed(`convertConversation (worker pool, ${size} threads)`, async () => {
    const results = await Promise.all(corpus.map((r, i) => pool.convert(r, i)));
    return results.reduce((n, r) => n + r.eml.length, 0);
  });
  await pool.close();
  console.log(
    `ratio converter/baseline: 1 thread ${(single / baseline).toFixed(2)}×, pool ${(pooled / baseline).toFixed(2)}×`,
  );
  console.log(
    `(mode used by the batch figure: worker_threads pool of ${size}; >1.00× means faster than the baseline)`,
  );
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
    `one conversation with ${FILES} × ${mb(per)} MB files (streamed): ${mb(bytes)} MB .eml in ${s.toFixed(2)} s; ` +
      `RSS ${mb(before)} MB before → peak ${mb(peak)} MB (+${mb(peak - before)} MB)`,
  );
}

// Memory first, before the corpus and the pool inflate the baseline RSS.
await memory();
await throughput();
