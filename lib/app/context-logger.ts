/**
 * Adapts a Functions InvocationContext (structurally: no @azure/functions import in lib/) to the Logger
 * interface; fields become one JSON suffix so App Insights traces stay single-line and searchable.
 */
import type { Logger } from '../log.js';

interface ContextLike {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

export function contextLogger(ctx: ContextLike): Logger {
  const line = (m: string, f?: Record<string, unknown>) =>
    f && Object.keys(f).length ? `${m} ${JSON.stringify(f)}` : m;
  return {
    debug: (m, f) => ctx.debug(line(m, f)),
    info: (m, f) => ctx.info(line(m, f)),
    warn: (m, f) => ctx.warn(line(m, f)),
    error: (m, f) => ctx.error(line(m, f)),
  };
}
