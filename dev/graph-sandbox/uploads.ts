/**
 * Large attachments (3 MB to 150 MB): attachment createUploadSession, then PUTs of byte ranges, in order, to
 * the pre-authenticated upload URL (the sandbox's stand-in for outlook.office.com's AttachmentSessions URL).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { GraphError } from './errors.js';
import { declaredLength, MAX_REQUEST_BYTES, type Reply } from './http.js';
import { addAttachment, attachmentTarget, iso, MAX_SIMPLE_ATTACHMENT_BYTES } from './mail.js';
import { allowOnly } from './odata.js';
import type { Ctx, SandboxState, UploadSession } from './state.js';

export const MAX_UPLOAD_SESSION_BYTES = 150 * 1024 * 1024;
export const UPLOAD_PATH_PREFIX = '/api/gv1.0/';

const AttachmentItem = z.strictObject({
  attachmentType: z.string(),
  name: z.string().min(1),
  size: z.number().int().nonnegative(),
  contentType: z.string().optional(),
  isInline: z.boolean().optional(),
  contentId: z.string().optional(),
});
const CreateSessionBody = z.union([
  z.strictObject({ AttachmentItem }),
  z.strictObject({ attachmentItem: AttachmentItem }),
]);

export function uploadPath(s: Pick<UploadSession, 'userId' | 'messageId' | 'id'>, tenantId: string): string {
  return `${UPLOAD_PATH_PREFIX}users('${s.userId}@${tenantId}')/messages('${s.messageId}')/AttachmentSessions('${s.id}')`;
}

export async function createUploadSession(ctx: Ctx, id: string, ref: string | undefined): Promise<Reply> {
  allowOnly(ctx.url.searchParams, []);
  const m = attachmentTarget(ctx, id, ref);
  if ((ctx.req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() !== 'application/json') {
    throw new GraphError(
      415,
      'UnsupportedMediaType',
      'This resource expects Content-Type: application/json.',
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(ctx.body!.toString('utf8'));
  } catch {
    throw new GraphError(400, 'RequestBodyRead', 'Invalid JSON. The request body could not be read as JSON.');
  }
  const parsed = CreateSessionBody.safeParse(raw);
  if (!parsed.success) {
    throw new GraphError(
      400,
      'RequestBodyRead',
      `AttachmentItem is missing or invalid: ${parsed.error.issues[0]?.message}.`,
    );
  }
  const item = 'AttachmentItem' in parsed.data ? parsed.data.AttachmentItem : parsed.data.attachmentItem;
  if (item.attachmentType !== 'file') {
    throw new GraphError(
      501,
      'SandboxNotImplemented',
      `The Graph sandbox only implements attachmentType 'file', not '${item.attachmentType}'.`,
    );
  }
  if (item.size < MAX_SIMPLE_ATTACHMENT_BYTES) {
    throw new GraphError(
      400,
      'ErrorAttachmentSizeShouldNotBeLessThanMinimumSize',
      'Attachment size should not be less than the minimum size of 3 MB; attach smaller files with a single POST.',
    );
  }
  if (item.size > MAX_UPLOAD_SESSION_BYTES) {
    throw new GraphError(
      400,
      'ErrorAttachmentSizeShouldNotBeGreaterThanMaximumSize',
      'Attachment size should not be greater than 150 MB.',
    );
  }
  const { state } = ctx;
  const session: UploadSession = {
    id: ctx.store!.nextId('session'),
    token: randomBytes(32).toString('base64url'),
    userId: ctx.user!.id,
    messageId: m.id,
    name: item.name,
    size: item.size,
    contentType: item.contentType ?? 'application/octet-stream',
    isInline: item.isInline ?? false,
    ...(item.contentId ? { contentId: item.contentId } : {}),
    chunks: [],
    received: 0,
    expiresMs: state.now() + state.uploadSessionTtlMs,
  };
  state.uploads.set(session.token, session);
  return {
    status: 201,
    json: {
      '@odata.context': `${state.baseUrl}/${ctx.version}/$metadata#microsoft.graph.uploadSession`,
      uploadUrl: `${state.baseUrl}${uploadPath(session, state.tenantId)}?authtoken=${session.token}`,
      expirationDateTime: new Date(session.expiresMs).toISOString(),
      nextExpectedRanges: ['0-'],
    },
  };
}

/** The session an upload URL names, or why not (401 for a bearer token, 404 for unknown/expired/altered). */
export function sessionFor(state: SandboxState, req: IncomingMessage, url: URL): UploadSession {
  if (req.headers.authorization !== undefined) {
    // What outlook.office.com answers when a Graph token comes along (public SDK reports).
    throw new GraphError(
      401,
      'InvalidAudienceForResource',
      "The audience claim value is invalid for current resource. Audience claim is 'https://graph.microsoft.com', request url is the upload URL and resource type is 'Exchange'. Do not send an Authorization header to a pre-authenticated upload URL.",
    );
  }
  const token = url.searchParams.get('authtoken') ?? '';
  const s = state.uploads.get(token);
  if (!s || decodeURIComponent(url.pathname) !== uploadPath(s, state.tenantId)) {
    throw new GraphError(
      404,
      'ErrorItemNotFound',
      'The upload session does not exist or the upload URL was altered.',
    );
  }
  if (s.expiresMs <= state.now()) {
    state.uploads.delete(token);
    throw new GraphError(404, 'ErrorItemNotFound', 'The upload session has expired.');
  }
  return s;
}

export interface Range {
  start: number;
  end: number;
  length: number;
}

/** Checks the PUT's headers before any byte is read: Content-Range, Content-Length, order, size. */
export function checkRange(req: IncomingMessage, s: UploadSession): Range {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/octet-stream') {
    throw new GraphError(
      400,
      'ErrorInvalidRequest',
      'An upload range must be sent with Content-Type: application/octet-stream.',
    );
  }
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(req.headers['content-range'] ?? ''));
  if (!m) {
    throw new GraphError(
      400,
      'ErrorInvalidContentRange',
      "Content-Range must be 'bytes {start}-{end}/{total}'.",
    );
  }
  const start = Number(m[1]);
  const end = Number(m[2]);
  const total = Number(m[3]);
  if (total !== s.size) {
    throw new GraphError(
      400,
      'ErrorInvalidContentRange',
      `The total size ${total} does not match the session's size ${s.size}.`,
    );
  }
  if (end < start || end >= total)
    throw new GraphError(400, 'ErrorInvalidContentRange', `Invalid range ${start}-${end}/${total}.`);
  const length = end - start + 1;
  if (length >= MAX_REQUEST_BYTES) {
    throw new GraphError(413, 'RequestEntityTooLarge', 'Each uploaded range must be less than 4 MB.');
  }
  if (start !== s.received) {
    // "You must upload bytes in a file in order": an overlap or a gap is refused, nothing is stored.
    throw new GraphError(
      416,
      'ErrorInvalidRange',
      `The range ${start}-${end} is not the next expected range; the upload continues at ${s.received}.`,
      {},
      { nextExpectedRanges: [`${s.received}-${s.size - 1}`] },
    );
  }
  const declared = declaredLength(req);
  if (declared === undefined) throw new GraphError(411, 'LengthRequired', 'Content-Length is required.');
  if (declared !== length) {
    throw new GraphError(
      400,
      'ErrorInvalidContentRange',
      `Content-Length ${declared} does not match the range's ${length} bytes.`,
    );
  }
  return { start, end, length };
}

export async function applyRange(ctx: Ctx, s: UploadSession, bytes: Buffer): Promise<Reply> {
  const { state } = ctx;
  s.chunks.push(bytes);
  s.received += bytes.length;
  if (s.received < s.size) {
    return {
      status: 200,
      json: {
        '@odata.context': `${state.baseUrl}/api/v2.0/$metadata#Users('${s.userId}@${state.tenantId}')/Messages('${s.messageId}')/AttachmentSessions/$entity`,
        expirationDateTime: new Date(s.expiresMs).toISOString(),
        nextExpectedRanges: [`${s.received}`],
      },
      // The range is stored: a commitThenDrop here leaves the client to resume from nextExpectedRanges.
      committed: true,
    };
  }
  state.uploads.delete(s.token);
  const m = ctx.store!.message(s.messageId);
  const a = await addAttachment(ctx, m, {
    name: s.name,
    contentType: s.contentType,
    bytes: Buffer.concat(s.chunks, s.size),
    isInline: s.isInline,
    ...(s.contentId ? { contentId: s.contentId } : {}),
  });
  s.chunks = [];
  return {
    status: 201,
    headers: {
      location: `${state.baseUrl}/api/v2.0/Users('${s.userId}@${state.tenantId}')/Messages('${s.messageId}')/Attachments('${a.id}')`,
      'last-modified': new Date(iso(state.now())).toUTCString(),
    },
    committed: true,
  };
}
