/**
 * HTTP plumbing: bounded streaming body reads (stopping at the cap without storing the rest) and replies.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { graphErrorBody, type RequestIds, tooLarge } from './errors.js';

/** Graph's request cap: 4 MB. */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

export interface Reply {
  status: number;
  json?: unknown;
  raw?: Buffer;
  contentType?: string;
  headers?: Record<string, string>;
  /** Something was stored before answering (commitThenDrop faults apply). */
  committed?: boolean;
}

export function declaredLength(req: IncomingMessage): number | undefined {
  const v = req.headers['content-length'];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * The whole body, or a 413 as soon as it passes `cap`; the rest of an oversized body is read and discarded
 * (not stored) so the client can finish sending and read the answer on a kept-alive connection.
 */
export function readBody(req: IncomingMessage, cap: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > cap) {
        cleanup();
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

const GRAPH_JSON =
  'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';

export function send(res: ServerResponse, reply: Reply): void {
  const payload =
    reply.raw ?? (reply.json === undefined ? undefined : Buffer.from(JSON.stringify(reply.json)));
  const headers: Record<string, string | number> = { ...reply.headers };
  if (payload) {
    headers['content-type'] = reply.contentType ?? GRAPH_JSON;
    headers['content-length'] = payload.length;
  } else {
    headers['content-length'] = 0;
  }
  res.writeHead(reply.status, headers);
  res.end(payload);
}

export function errorReply(
  ids: RequestIds,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
  extra: Record<string, unknown> = {},
): Reply {
  return { status, json: graphErrorBody(ids, code, message, extra), headers };
}
