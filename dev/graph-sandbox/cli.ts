/**
 * `lp-archive graph-sandbox`: runs the local Microsoft Graph sandbox until SIGINT/SIGTERM and prints, as
 * KEY=VALUE lines on stdout, every setting a client needs (GRAPH_*; GRAPH_CA_CERT_FILE exists while it runs).
 */
import { parseArgs } from 'node:util';
import { type GraphSandbox, type GraphSandboxOptions, startGraphSandbox } from './index.js';

const USAGE = `Usage: lp-archive graph-sandbox [options]

Runs a local HTTPS sandbox of the Microsoft Graph APIs the archiver uses (identity platform tokens, users,
mail folders, messages, importMime, attachments, upload sessions) on 127.0.0.1 and prints the settings a
client needs as KEY=VALUE lines. Clients must trust the CA in GRAPH_CA_CERT_FILE.

Options:
  --port P             port to listen on (default: a free port)
  --mirror DIR         also write every stored item to DIR/<mailbox>/<folder path>/NNNN-<message id>.eml
  --fault-rate R       fraction of Graph data calls answered 429 or 503 (half each; default 0)
  --latency MS         delay added to every Graph data call (default 0)
  --seed S             seed for ids and fault draws (default 1)
  --no-limits          turn Outlook's per-mailbox limits off
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
  until?: (sandbox: GraphSandbox) => Promise<void>;
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
  let options: GraphSandboxOptions;
  try {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        mirror: { type: 'string' },
        'fault-rate': { type: 'string' },
        latency: { type: 'string' },
        seed: { type: 'string' },
        'no-limits': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      out(`${USAGE}\n`);
      return 0;
    }
    if (values.mirror !== undefined && values.mirror.trim() === '')
      throw new Error('--mirror needs a directory');
    const faultRate = number('fault-rate', values['fault-rate'], 0, 1, false) ?? 0;
    options = {
      port: number('port', values.port, 0, 65535, true),
      seed: number('seed', values.seed, 0, 4294967295, true),
      faults: {
        rate429: faultRate / 2,
        rate503: faultRate / 2,
        latencyMs: number('latency', values.latency, 0, 600_000, true) ?? 0,
      },
      ...(values.mirror ? { mirrorDir: values.mirror } : {}),
      ...(values['no-limits'] ? { limits: false as const } : {}),
    };
  } catch (e) {
    err(`lp-archive graph-sandbox: ${e instanceof Error ? e.message : String(e)}\n\n${USAGE}\n`);
    return 2;
  }

  const sandbox = await startGraphSandbox(options);
  for (const [key, value] of Object.entries(sandbox.env)) out(`${key}=${value}\n`);
  err(
    `graph-sandbox: listening on ${sandbox.url} (tenant ${sandbox.tenantId}, ${sandbox.mailboxes().length} mailboxes); Ctrl+C to stop\n`,
  );
  await (io.until ?? waitForSignal)(sandbox);
  await sandbox.stop();
  err('graph-sandbox: stopped\n');
  return 0;
}
