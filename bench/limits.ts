/**
 * `npm run bench:limits`: peak memory of the LivePerson client when LivePerson sends far too much.
 *
 *   bomb       a conversation whose hosted file expands to 200 MB (a ZIP of zeros): archived with the
 *              default limits (refused from its headers, never expanded), then with the limits lifted
 *              (expanded through a temp file and streamed into the .eml)
 *   json       a 200 MB by-ID answer and a 200 MB Users API answer (valid JSON, streamed without a
 *              length), read with the default LP_MAX_JSON_MB (refused after 32 MB)
 *
 * The sandbox runs in a child process, so its own buffers are not counted. Prints peak RSS above the
 * baseline for each case; asserts nothing.
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { startSandbox } from '../dev/sandbox/index.js';
import { convertConversation } from '../lib/email/convert.js';
import { createLivePersonClient } from '../lib/liveperson/client.js';
import { readLivePersonConfig } from '../lib/liveperson/config.js';
import { hostedFilePaths } from '../lib/liveperson/hosted-files.js';

const MB = 1024 * 1024;
const EXPANSION = 200 * MB;

if (process.argv.includes('--child')) {
  // The sandbox side: one conversation with a file that is a 200 MB bomb; 200 MB JSON answers on demand.
  const sb = await startSandbox({ conversations: 40, seed: 44, spanDays: 3, realTime: false });
  const closed = sb.conversations
    .ids()
    .filter((id) => (sb.conversations.get(id) as { info: { status: string } }).info.status === 'CLOSE');
  const target = closed.find((id) => sb.conversations.files(id).length === 1)!;
  sb.hostile.zipBomb(sb.conversations.files(target)[0]!, EXPANSION);
  process.on('message', (m: { oversize?: 'byId' | 'users' }) => {
    if (m.oversize) sb.hostile.oversizeJson(m.oversize, EXPANSION, 1);
    process.send!({ ok: true });
  });
  process.send!({ env: sb.env, target });
} else {
  const child = fork(new URL(import.meta.url).pathname, ['--child'], { execArgv: ['--import', 'tsx'] });
  const [hello] = (await once(child, 'message')) as [{ env: Record<string, string>; target: string }];
  const ask = async (m: object) => {
    child.send(m);
    await once(child, 'message');
  };

  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  const measure = async (label: string, run: () => Promise<string>) => {
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 200));
    const base = process.memoryUsage().rss;
    peak = base;
    const started = performance.now();
    const outcome = await run();
    peak = Math.max(peak, process.memoryUsage().rss);
    const s = ((performance.now() - started) / 1000).toFixed(2);
    console.log(
      `  ${label.padEnd(44)} peak RSS ${(peak / MB).toFixed(0)} MB (+${((peak - base) / MB).toFixed(0)} MB over ${(base / MB).toFixed(0)} MB), ${s} s: ${outcome}`,
    );
  };
  const client = (extra: Record<string, string> = {}) =>
    createLivePersonClient(
      readLivePersonConfig({
        ...hello.env,
        LP_APP_KEY: '',
        LP_APP_SECRET: '',
        LP_ACCESS_TOKEN: '',
        LP_ACCESS_TOKEN_SECRET: '',
        LP_FILES_POLL_MS: '1',
        ...extra,
      }),
    );

  const archiveBomb = (lp: ReturnType<typeof client>) => async () => {
    const record = (await lp.getConversationsById([hello.target])).get(hello.target)!;
    const group = lp.hostedFilesOf([
      { conversationId: hello.target, relativePaths: hostedFilePaths(record) },
    ]);
    try {
      const result = await convertConversation(record, {
        users: await lp.getUsers(),
        files: group.provider(hello.target),
      });
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of result.eml) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      return `.eml ${(size / MB).toFixed(1)} MB${result.partialReasons.length ? `, partial: ${result.partialReasons.join('; ')}` : ', complete'}`;
    } finally {
      await group.dispose();
    }
  };
  const readJson = (what: 'byId' | 'users') => async () => {
    await ask({ oversize: what });
    const lp = client();
    try {
      if (what === 'users') await lp.getUsers();
      else await lp.getConversationsById([hello.target]);
      return 'read (unexpected)';
    } catch (err) {
      return (err as Error).message;
    }
  };

  console.log(
    `bench:limits — 200 MB from LivePerson (load ${(await import('node:os')).loadavg()[0]!.toFixed(2)})`,
  );
  await measure('ZIP bomb, default limits', archiveBomb(client()));
  await measure(
    'ZIP bomb, limits lifted (file 1 GB, ratio 1e5)',
    archiveBomb(
      client({ LP_FILES_MAX_FILE_MB: '1024', LP_FILES_MAX_ITEM_MB: '1024', LP_FILES_MAX_RATIO: '100000' }),
    ),
  );
  await measure('200 MB by-ID answer, LP_MAX_JSON_MB 32', readJson('byId'));
  await measure('200 MB Users API answer, LP_MAX_JSON_MB 32', readJson('users'));
  clearInterval(sampler);
  child.kill();
}
