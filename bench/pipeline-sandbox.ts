/**
 * The LivePerson sandbox for `bench:pipeline`, in a process of its own so its memory and CPU are not
 * counted as the host's. Started with `fork()`; talks over the IPC channel:
 *   → { type: 'ready', url, env, closed }             once listening
 *   ← { type: 'stats' } → { type: 'stats', stats, cpuSeconds }   call counts and CPU time so far
 *   ← { type: 'reset' } → { type: 'reset' }           zero the call counts
 *   ← { type: 'stop' }                                stop and exit
 */
import { z } from 'zod';
import { startSandbox } from '../dev/sandbox/index.js';

const OptionsSchema = z.object({
  conversations: z.number().int().positive(),
  seed: z.number().int(),
  spanDays: z.number().positive(),
  latencyMs: z.number().nonnegative(),
  faultRate: z.number().min(0).max(1),
});
const MessageSchema = z.object({ type: z.enum(['stats', 'reset', 'stop']) });

if (!process.send) throw new Error('bench/pipeline-sandbox.ts runs as a forked child of bench/pipeline.ts');
const send = (m: unknown) => process.send?.(m);
const options = OptionsSchema.parse(JSON.parse(process.argv[2] ?? '{}'));
const sandbox = await startSandbox({ ...options, indexLagMs: 0 });
const closed = sandbox.conversations.ids().filter((id) => {
  const r = sandbox.conversations.get(id) as { info?: { status?: string } } | undefined;
  return r?.info?.status === 'CLOSE';
}).length;
process.on('message', async (raw) => {
  const m = MessageSchema.parse(raw);
  if (m.type === 'stats') {
    const cpu = process.cpuUsage();
    send({ type: 'stats', stats: sandbox.stats(), cpuSeconds: (cpu.user + cpu.system) / 1e6 });
  }
  if (m.type === 'reset') {
    sandbox.resetStats();
    send({ type: 'reset' });
  }
  if (m.type === 'stop') {
    await sandbox.stop();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', url: sandbox.url, env: sandbox.env, closed });
