/**
 * The Graph sandbox for bench:deliver, in its own process so its CPU and memory are not charged to the
 * delivery being measured. Options arrive as one JSON argument; the handle's env is printed as JSON.
 */
import { startGraphSandbox } from '../dev/graph-sandbox/index.js';

const opts = JSON.parse(process.argv[2] ?? '{}');
const g = await startGraphSandbox(opts);
process.stdout.write(`${JSON.stringify({ env: g.env })}\n`);
process.stdin.resume();
process.stdin.on('data', async (d) => {
  const cmd = d.toString().trim();
  if (cmd === 'stats') process.stdout.write(`${JSON.stringify({ stats: g.stats() })}\n`);
  if (cmd === 'count') {
    let n = 0;
    for (const a of g.mailboxes()) n += (await g.items(a)).length;
    process.stdout.write(`${JSON.stringify({ count: n })}\n`);
  }
});
process.stdin.on('end', async () => {
  await g.stop();
  process.exit(0);
});
