/**
 * The status page as an HTTP response: collect → render, with headers that let the page do nothing but
 * show itself (a CSP allowing only its own inline style block by hash, same-origin form submits, no
 * framing), never cached or sent on as a referrer (the key door's URL carries a function key).
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../log.js';
import type { LogResponse } from '../statuslog/log-download.js';
import { collectConnectorStatus, describeError, type StatusSources } from './collect.js';
import { html } from './html.js';
import { type DownloadLinks, renderStatusPage, STATUS_PAGE_STYLE } from './render.js';

const styleHash = createHash('sha256').update(STATUS_PAGE_STYLE, 'utf8').digest('base64');

export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${styleHash}'`,
  'img-src data:',
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export const STATUS_PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': STATUS_PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
};

export type StatusDoor = 'sign-in' | 'key';

/**
 * The download links for the door the page was opened through: the page's own path with its last
 * segment (`status`) replaced, so /api/status links to /api/log and /api/automation/status to
 * /api/automation/log whatever the route prefix. The key door carries the `code` parameter along.
 */
export function doorLinks(pagePath: string, via: StatusDoor, query: Record<string, string>): DownloadLinks {
  const m = /^(.*)\/status\/?$/i.exec(pagePath);
  const base = m ? m[1]! : via === 'key' ? '/api/automation' : '/api';
  const code = query.code;
  return {
    log: `${base}/log`,
    summary: `${base}/log/summary`,
    carry: via === 'key' && code ? { code } : {},
    ...(via === 'key' && !code
      ? {
          notice:
            'These links carry no function key (the page was opened without ?code=): add it to them, or send the x-functions-key header.',
        }
      : {}),
  };
}

/** A small page of its own for a refused or failed request (same headers: it is HTML in a browser). */
export function messagePage(status: number, title: string, message: string): LogResponse {
  const body = `<!doctype html>\n${html`<html lang="en"><head><meta charset="utf-8"><title>${title}</title><link rel="icon" href="data:,"></head><body><h1>${title}</h1><p>${message}</p></body></html>`}\n`;
  return { status, headers: { ...STATUS_PAGE_HEADERS }, body };
}

export async function statusPageResponse(
  sources: StatusSources,
  links: DownloadLinks,
  logger: Logger,
): Promise<LogResponse> {
  try {
    const model = await collectConnectorStatus(sources);
    if (model.history.error)
      logger.warn('status page: status table not read', { error: model.history.error });
    return { status: 200, headers: { ...STATUS_PAGE_HEADERS }, body: renderStatusPage(model, links) };
  } catch (err) {
    logger.error('status page could not be built', { error: describeError(err) });
    return messagePage(
      500,
      'Status page unavailable',
      `The status page could not be built: ${describeError(err)}`,
    );
  }
}
