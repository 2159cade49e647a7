/**
 * The one logging interface lib/ code takes. Functions adapt InvocationContext to it; the CLI and the
 * local host adapt the console. Never pass secrets, tokens or message contents at info level.
 */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A logger writing one line per event to stderr, for the CLI and the local host. */
export function consoleLogger(opts: { debug?: boolean; prefix?: string } = {}): Logger {
  const write = (level: string, message: string, fields?: Record<string, unknown>) => {
    const extra = fields && Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : '';
    process.stderr.write(`${opts.prefix ?? ''}${level} ${message}${extra}\n`);
  };
  return {
    debug: (m, f) => opts.debug && write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}
