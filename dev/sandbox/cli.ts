/**
 * `lp-archive sandbox`: runs the local LivePerson sandbox until SIGINT/SIGTERM and prints, as KEY=VALUE lines
 * on stdout, every setting a client needs (paste into local.settings.json or `export` them in a shell).
 */
import { parseArgs } from 'node:util';
import { type Sandbox, type SandboxOptions, startSandbox } from './index.js';

const USAGE = `Usage: lp-archive sandbox [options]

Runs a local sandbox of LivePerson's APIs (CSDS, Sentinel, Messaging Interactions, Users, Bulk File Download)
on 127.0.0.1 and prints the settings a client needs as KEY=VALUE lines.

Options:
  --port P             port to listen on (default: a free port)
  --conversations N    generated conversations (default 200)
  --seed S             generator seed; the same seed gives the same conversations (default 1)
  --fault-rate R       fraction of data requests answered 429/500/503 (default 0)
  --latency MS         delay added to every response (default 0)
  -h, --help           show this help`;

function number(
  name: string,
  raw: string | undefined,
  min: number,
  max: number,
  integer: boolean,
): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new Error(
      `--${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, got '${raw}'`,
    );
  }
  return n;
}

export interface RunIo {
  out?: (text: string) => void;
  err?: (text: string) => void;
  /** Resolves when the sandbox should stop (default: SIGINT or SIGTERM). */
  until?: (sandbox: Sandbox) => Promise<void>;
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

export async function run(argv: string[], io: RunIo = {}): Promise<number> {
  const out = io.out ?? ((t: string) => process.stdout.write(t));
  const err = io.err ?? ((t: string) => process.stderr.write(t));
  let options: SandboxOptions;
  try {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        conversations: { type: 'string' },
        seed: { type: 'string' },
        'fault-rate': { type: 'string' },
        latency: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      out(`${USAGE}\n`);
      return 0;
    }
    options = {
      port: number('port', values.port, 0, 65535, true),
      conversations: number('conversations', values.conversations, 0, 1_000_000, true),
      seed: number('seed', values.seed, 0, 4294967295, true),
      faultRate: number('fault-rate', values['fault-rate'], 0, 1, false),
      latencyMs: number('latency', values.latency, 0, 600_000, true),
    };
  } catch (e) {
    err(`lp-archive sandbox: ${e instanceof Error ? e.message : String(e)}\n\n${USAGE}\n`);
    return 2;
  }

  const sandbox = await startSandbox(options);
  for (const [key, value] of Object.entries(sandbox.env)) out(`${key}=${value}\n`);
  err(
    `sandbox: listening on ${sandbox.url} (account ${sandbox.accountId}, ${sandbox.conversations.ids().length} conversations); Ctrl+C to stop\n`,
  );
  await (io.until ?? waitForSignal)(sandbox);
  await sandbox.stop();
  err('sandbox: stopped\n');
  return 0;
}
