/**
 * Outlook mail on Graph: mail folders and child folders, messages (created from MIME or JSON, or imported
 * with the beta importMime action), their attachments, and lookups by internetMessageId. Each handler
 * enforces the documented contract (see README) and answers with Graph's codes.
 */
import { createHash } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { z } from 'zod';
import { GraphError } from './errors.js';
import type { Reply } from './http.js';
import {
  composeMime,
  decodeBase64Strict,
  headerFields,
  invalidBase64,
  type Mailbox,
  mimeAttachments,
  summariseMime,
} from './mime.js';
import { allowOnly, parseSelect, parseSingleEq, parseSkip, parseTop } from './odata.js';
import type { Ctx, SandboxState } from './state.js';
import {
  attachmentJson,
  type Folder,
  folderJson,
  type MailboxStore,
  messageJson,
  messageSelection,
  needsBody,
  type StoredAttachment,
  type StoredMessage,
} from './store.js';
import { type DirectoryUser, primaryAddress } from './tenant.js';

/** Attachments posted in one request must be smaller than 3 MB; from 3 MB (to 150 MB) an upload session. */
export const MAX_SIMPLE_ATTACHMENT_BYTES = 3 * 1024 * 1024;

export const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function mediaType(ctx: Ctx): string {
  return (ctx.req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

function requireJson(ctx: Ctx): unknown {
  if (mediaType(ctx) !== 'application/json') {
    throw new GraphError(
      415,
      'UnsupportedMediaType',
      'This resource expects Content-Type: application/json.',
    );
  }
  try {
    return JSON.parse(ctx.body!.toString('utf8'));
  } catch {
    throw new GraphError(400, 'RequestBodyRead', 'Invalid JSON. The request body could not be read as JSON.');
  }
}

/** Zod's verdict in Graph's words: unknown members are refused like OData does. */
function parseWith<T extends z.ZodType>(schema: T, value: unknown, type: string): z.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    throw new GraphError(
      400,
      'RequestBodyRead',
      `The property '${issue.keys[0]}' does not exist on type '${type}'. Make sure to only use property names that are defined by the type or mark the type as open type.`,
    );
  }
  throw new GraphError(
    400,
    'RequestBodyRead',
    `Invalid value for '${issue.path.join('.') || type}': ${issue.message}.`,
  );
}

const mailboxOf = (r: { emailAddress: { name?: string | undefined; address: string } }): Mailbox => ({
  ...(r.emailAddress.name ? { name: r.emailAddress.name } : {}),
  address: r.emailAddress.address,
});

// ---------------------------------------------------------------- folders

export function getFolder(ctx: Ctx, ref: string): Reply {
  allowOnly(ctx.url.searchParams, ['$select']);
  const store = ctx.store!;
  const f = store.folder(ref);
  return {
    status: 200,
    json: { '@odata.context': context(ctx, 'mailFolders/$entity'), ...folderJson(store, f) },
  };
}

function folderPage(ctx: Ctx, folders: Folder[], entity: string): Reply {
  const q = ctx.url.searchParams;
  allowOnly(q, ['$filter', '$select', '$top', '$skip'], ['$orderby', '$expand', '$count', '$search']);
  const filter = q.get('$filter');
  let list = folders;
  if (filter !== null) {
    const name = parseSingleEq(filter, 'displayName').toLowerCase();
    list = list.filter((f) => f.displayName.toLowerCase() === name);
  }
  const top = parseTop(q.get('$top'), 1000, 10);
  const skip = parseSkip(q.get('$skip'));
  const body: Record<string, unknown> = { '@odata.context': context(ctx, entity) };
  if (skip + top < list.length) body['@odata.nextLink'] = nextLink(ctx, skip + top);
  body.value = list.slice(skip, skip + top).map((f) => folderJson(ctx.store!, f));
  return { status: 200, json: body };
}

export function listTopFolders(ctx: Ctx): Reply {
  const store = ctx.store!;
  const root = store.folder('msgfolderroot');
  return folderPage(
    ctx,
    root.children.map((id) => store.folders.get(id)!),
    'mailFolders',
  );
}

export function listChildFolders(ctx: Ctx, ref: string): Reply {
  const store = ctx.store!;
  const parent = store.folder(ref);
  return folderPage(
    ctx,
    parent.children.map((id) => store.folders.get(id)!),
    `mailFolders('${parent.id}')/childFolders`,
  );
}

const FolderCreate = z.strictObject({
  '@odata.type': z.literal('#microsoft.graph.mailFolder').optional(),
  displayName: z.string(),
  isHidden: z.boolean().optional(),
});

export function createChildFolder(ctx: Ctx, ref: string): Reply {
  allowOnly(ctx.url.searchParams, []);
  const store = ctx.store!;
  const parent = store.folder(ref);
  const { displayName } = parseWith(FolderCreate, requireJson(ctx), 'microsoft.graph.mailFolder');
  if (displayName.trim() === '') {
    throw new GraphError(400, 'ErrorInvalidFolderName', 'The folder name is empty or not valid.');
  }
  // Synchronous from check to insert: of two racing creates of one name, exactly one wins.
  const f = store.createChild(parent, displayName);
  return {
    status: 201,
    json: {
      '@odata.context': context(ctx, `mailFolders('${parent.id}')/childFolders/$entity`),
      ...folderJson(store, f),
    },
    committed: true,
  };
}

// ---------------------------------------------------------------- messages: reading

export async function listMessages(ctx: Ctx, ref: string | undefined): Promise<Reply> {
  const q = ctx.url.searchParams;
  allowOnly(q, ['$filter', '$select', '$top', '$skip'], ['$orderby', '$expand', '$count', '$search']);
  const store = ctx.store!;
  const folder = ref === undefined ? undefined : store.folder(ref);
  const filter = q.get('$filter');
  const list =
    filter === null
      ? store.inFolder(folder?.id)
      : store.withInternetMessageId(parseSingleEq(filter, 'internetMessageId'), folder?.id);
  // Graph's default order: newest received first.
  list.sort((a, b) =>
    a.receivedDateTime < b.receivedDateTime ? 1 : a.receivedDateTime > b.receivedDateTime ? -1 : 0,
  );
  const selection = messageSelection(parseSelect(q.get('$select')));
  const top = parseTop(q.get('$top'), 1000, 10);
  const skip = parseSkip(q.get('$skip'));
  const page = list.slice(skip, skip + top);
  const value: Record<string, unknown>[] = [];
  for (const m of page) value.push(await messageView(m, selection));
  const body: Record<string, unknown> = { '@odata.context': context(ctx, 'messages') };
  if (skip + top < list.length) body['@odata.nextLink'] = nextLink(ctx, skip + top);
  body.value = value;
  return { status: 200, json: body };
}

async function messageView(m: StoredMessage, selection: readonly string[]): Promise<Record<string, unknown>> {
  if (needsBody(selection) && m.mime && !m.parsedBody) m.parsedBody = await parsedBody(m.mime);
  const headers = selection.includes('internetMessageHeaders') && m.mime ? mimeHeaders(m.mime) : undefined;
  return messageJson(m, selection, headers ? { headers } : {});
}

function mimeHeaders(mime: Buffer): Array<{ name: string; value: string }> {
  return headerFields(mime).map(([name, value]) => ({ name, value }));
}

async function parsedBody(mime: Buffer): Promise<{ contentType: 'text' | 'html'; content: string }> {
  const p = await simpleParser(mime, { skipTextLinks: true, skipTextToHtml: true });
  return typeof p.html === 'string'
    ? { contentType: 'html', content: p.html }
    : { contentType: 'text', content: p.text ?? '' };
}

export async function getMessage(ctx: Ctx, id: string, ref: string | undefined): Promise<Reply> {
  allowOnly(ctx.url.searchParams, ['$select'], ['$expand']);
  const m = messageIn(ctx.store!, id, ref);
  const selection = messageSelection(parseSelect(ctx.url.searchParams.get('$select')));
  return {
    status: 200,
    json: { '@odata.context': context(ctx, 'messages/$entity'), ...(await messageView(m, selection)) },
  };
}

/** GET …/messages/{id}/$value: the MIME of the item. */
export async function getMessageValue(ctx: Ctx, id: string, ref: string | undefined): Promise<Reply> {
  allowOnly(ctx.url.searchParams, []);
  const m = messageIn(ctx.store!, id, ref);
  return { status: 200, raw: await mimeOf(m), contentType: 'text/plain' };
}

function messageIn(store: MailboxStore, id: string, ref: string | undefined): StoredMessage {
  const m = store.message(id);
  if (ref !== undefined && store.folder(ref).id !== m.folderId) {
    throw new GraphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
  }
  return m;
}

// ---------------------------------------------------------------- messages: creating

interface NewMessage {
  folder: Folder;
  createdVia: StoredMessage['createdVia'];
  isDraft: boolean;
  isRead: boolean;
  internetMessageId?: string;
  subject: string;
  from?: Mailbox;
  sender?: Mailbox;
  to: Mailbox[];
  cc: Mailbox[];
  bcc: Mailbox[];
  replyTo: Mailbox[];
  receivedMs: number;
  sentMs: number | null;
  hasMimeAttachments: boolean;
  mime?: Buffer;
  body?: StoredMessage['body'];
  internetMessageHeaders?: StoredMessage['internetMessageHeaders'];
  singleValueExtendedProperties?: StoredMessage['singleValueExtendedProperties'];
  attachments?: NewAttachment[];
}

type NewAttachment = Omit<StoredAttachment, 'id' | 'lastModifiedDateTime' | 'size' | 'sha256'>;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** keepContent: false keeps what the content was (digest, size), not the bytes: long benchmarks stay small. */
function dropContent(m: StoredMessage): void {
  if (m.mime) {
    m.dropped = { sha256: sha256(m.mime), size: m.mime.length };
    delete m.mime;
  }
  for (const a of m.attachments) dropAttachment(a);
  delete m.composed;
}

function dropAttachment(a: StoredAttachment): void {
  if (a.bytes.length === 0) return;
  a.sha256 = sha256(a.bytes);
  a.bytes = Buffer.alloc(0);
}

async function saveMessage(ctx: Ctx, n: NewMessage): Promise<StoredMessage> {
  const { state } = ctx;
  const s = ctx.store!;
  const now = iso(state.now());
  const id = s.nextId('item');
  const m = s.add({
    id,
    userId: s.userId,
    folderId: n.folder.id,
    createdVia: n.createdVia,
    isDraft: n.isDraft,
    isRead: n.isRead,
    // Exchange stamps its own Message-ID on an item that has none.
    internetMessageId:
      n.internetMessageId ??
      `<${id.slice(6, 30).replace(/[^A-Za-z0-9]/g, 'x')}@sandbox.prod.outlook.invalid>`,
    subject: n.subject,
    ...(n.from ? { from: n.from } : {}),
    ...(n.sender ? { sender: n.sender } : {}),
    to: n.to,
    cc: n.cc,
    bcc: n.bcc,
    replyTo: n.replyTo,
    createdDateTime: now,
    lastModifiedDateTime: now,
    receivedDateTime: iso(n.receivedMs),
    sentDateTime: n.sentMs === null ? null : iso(n.sentMs),
    hasMimeAttachments: n.hasMimeAttachments,
    changeKey: s.nextId('item').slice(6, 34),
    conversationId: s.nextId('item'),
    ...(n.mime ? { mime: n.mime } : {}),
    ...(n.body ? { body: n.body } : {}),
    internetMessageHeaders: n.internetMessageHeaders ?? [],
    singleValueExtendedProperties: n.singleValueExtendedProperties ?? [],
    attachments: (n.attachments ?? []).map((a) => ({
      ...a,
      size: a.bytes.length,
      id: s.nextId('attachment'),
      lastModifiedDateTime: now,
    })),
  });
  await mirrorItem(state, ctx.user!, s, m);
  if (!state.keepContent) dropContent(m);
  return m;
}

/** The MIME of a stored item: as sent for importMime/mime, composed (and cached) for JSON items. */
export async function mimeOf(m: StoredMessage): Promise<Buffer> {
  if (m.mime) return m.mime;
  if (m.dropped) return Buffer.alloc(0);
  if (!m.composed) {
    m.composed = await composeMime({
      messageId: m.internetMessageId,
      subject: m.subject,
      date: new Date(m.sentDateTime ?? m.createdDateTime),
      ...(m.from ? { from: m.from } : {}),
      to: m.to,
      cc: m.cc,
      bcc: m.bcc,
      replyTo: m.replyTo,
      body: m.body ?? { contentType: 'text', content: '' },
      headers: m.internetMessageHeaders,
      attachments: m.attachments,
    });
  }
  return m.composed;
}

export async function mirrorItem(
  state: SandboxState,
  user: DirectoryUser,
  s: MailboxStore,
  m: StoredMessage,
): Promise<void> {
  if (!state.mirror) return;
  const folder = s.folders.get(m.folderId)!;
  const file = state.mirror.pathFor(primaryAddress(user), s.pathOf(folder), m.seq, m.internetMessageId);
  await state.mirror.write(file, await mimeOf(m));
}

function created(ctx: Ctx, m: StoredMessage, selection: readonly string[]): Reply {
  return {
    status: 201,
    json: { '@odata.context': context(ctx, 'messages/$entity'), ...messageJson(m, selection) },
    committed: true,
  };
}

/** The 201 of a MIME create leaves out the body: parsing MIME on the hot path is what the sandbox avoids. */
const MIME_CREATE_SELECTION = messageSelection(undefined).filter((p) => p !== 'body' && p !== 'bodyPreview');

function decodeMime(ctx: Ctx): Buffer {
  if (mediaType(ctx) !== 'text/plain') {
    throw new GraphError(
      415,
      'UnsupportedMediaType',
      'MIME content must be sent with Content-Type: text/plain.',
    );
  }
  const mime = decodeBase64Strict(ctx.body!.toString('latin1'));
  if (!mime) throw invalidBase64();
  return mime;
}

/** POST /beta/users/{id}/mailFolders/{id}/importMime: a non-draft item, MIME kept byte for byte. */
export async function importMime(ctx: Ctx, ref: string): Promise<Reply> {
  allowOnly(ctx.url.searchParams, []);
  const folder = ctx.store!.folder(ref);
  const mime = decodeMime(ctx);
  const h = summariseMime(mime);
  const now = ctx.state.now();
  const date = h.date?.getTime();
  const m = await saveMessage(ctx, {
    folder,
    createdVia: 'importMime',
    isDraft: false,
    isRead: false,
    ...(h.messageId ? { internetMessageId: h.messageId } : {}),
    subject: h.subject,
    ...(h.from ? { from: h.from, sender: h.from } : {}),
    to: h.to,
    cc: h.cc,
    bcc: h.bcc,
    replyTo: [],
    // Undocumented: the sandbox takes the MIME Date as the received time (see README).
    receivedMs: date ?? now,
    sentMs: date ?? now,
    hasMimeAttachments: h.hasAttachments,
    mime,
  });
  return created(ctx, m, MIME_CREATE_SELECTION);
}

/** POST /users/{id}[/mailFolders/{id}]/messages: JSON or (text/plain) base64 MIME; both make drafts… */
export async function createMessage(ctx: Ctx, ref: string | undefined): Promise<Reply> {
  allowOnly(ctx.url.searchParams, []);
  // "By default, this operation saves the draft in the Drafts folder."
  const folder = ctx.store!.folder(ref ?? 'drafts');
  if (mediaType(ctx) === 'text/plain') {
    const mime = decodeMime(ctx);
    const h = summariseMime(mime);
    const now = ctx.state.now();
    const m = await saveMessage(ctx, {
      folder,
      createdVia: 'mime',
      isDraft: true,
      isRead: true,
      ...(h.messageId ? { internetMessageId: h.messageId } : {}),
      subject: h.subject,
      ...(h.from ? { from: h.from, sender: h.from } : {}),
      to: h.to,
      cc: h.cc,
      bcc: h.bcc,
      replyTo: [],
      // As in the documented MIME example: sent from the MIME Date, received = creation time.
      receivedMs: now,
      sentMs: h.date?.getTime() ?? now,
      hasMimeAttachments: h.hasAttachments,
      mime,
    });
    return created(ctx, m, MIME_CREATE_SELECTION);
  }
  return created(ctx, await createFromJson(ctx, folder), messageSelection(undefined));
}

const EmailAddress = z.strictObject({ name: z.string().optional(), address: z.string().includes('@') });
const Recipient = z.strictObject({ emailAddress: EmailAddress });
const FileAttachmentBody = z.strictObject({
  '@odata.type': z.string().optional(),
  name: z.string().min(1),
  contentType: z.string().optional(),
  contentBytes: z.string(),
  isInline: z.boolean().optional(),
  contentId: z.string().optional(),
  contentLocation: z.string().nullable().optional(),
  size: z.number().optional(),
});
const MessageCreate = z.strictObject({
  '@odata.type': z.literal('#microsoft.graph.message').optional(),
  subject: z.string().optional(),
  body: z.strictObject({ contentType: z.string().optional(), content: z.string() }).optional(),
  from: Recipient.optional(),
  sender: Recipient.optional(),
  toRecipients: z.array(Recipient).optional(),
  ccRecipients: z.array(Recipient).optional(),
  bccRecipients: z.array(Recipient).optional(),
  replyTo: z.array(Recipient).optional(),
  internetMessageHeaders: z.array(z.strictObject({ name: z.string(), value: z.string() })).optional(),
  singleValueExtendedProperties: z.array(z.strictObject({ id: z.string(), value: z.string() })).optional(),
  attachments: z.array(FileAttachmentBody).optional(),
  importance: z.string().optional(),
  isRead: z.boolean().optional(),
  isDeliveryReceiptRequested: z.boolean().optional(),
  isReadReceiptRequested: z.boolean().optional(),
  categories: z.array(z.string()).optional(),
  inferenceClassification: z.string().optional(),
  flag: z.unknown().optional(),
  // Accepted but not applied on create (read-only in practice; see README): a client must use the
  // extended properties 0x0E07/0x0E06/0x0039/0x1035 instead.
  internetMessageId: z.string().optional(),
  receivedDateTime: z.string().optional(),
  sentDateTime: z.string().optional(),
  isDraft: z.boolean().optional(),
  hasAttachments: z.boolean().optional(),
  bodyPreview: z.string().optional(),
});

const PROP_ID =
  /^(Binary|Boolean|Currency|Double|Float|Integer|Long|Short|SystemTime|String|CLSID|ApplicationTime|Object)\s+(?:0x([0-9A-Fa-f]{1,4})|\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}\s+(?:Name\s+\S.*|Id\s+0x[0-9A-Fa-f]{1,4}))$/i;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})?$/;

/** MAPI tags the sandbox gives meaning to (others are stored and otherwise ignored). */
const PR_MESSAGE_FLAGS = 0x0e07;
const PR_MESSAGE_DELIVERY_TIME = 0x0e06;
const PR_CLIENT_SUBMIT_TIME = 0x0039;
const PR_INTERNET_MESSAGE_ID = 0x1035;
const MSGFLAG_READ = 0x1;
const MSGFLAG_UNSENT = 0x8;

interface ExtendedValues {
  flags?: number;
  deliveryMs?: number;
  submitMs?: number;
  internetMessageId?: string;
}

function extendedProperties(props: ReadonlyArray<{ id: string; value: string }>): ExtendedValues {
  const out: ExtendedValues = {};
  for (const p of props) {
    const m = PROP_ID.exec(p.id.trim());
    if (!m)
      throw new GraphError(400, 'ErrorInvalidProperty', `The extended property id '${p.id}' is not valid.`);
    const type = m[1]!.toLowerCase();
    const tag = m[2] === undefined ? undefined : Number.parseInt(m[2], 16);
    const bad = () =>
      new GraphError(
        400,
        'ErrorInvalidExtendedPropertyValue',
        `The value '${p.value}' is not valid for the extended property '${p.id}'.`,
      );
    if (type === 'integer' || type === 'short' || type === 'long') {
      if (!/^-?\d+$/.test(p.value.trim())) throw bad();
    } else if (type === 'systemtime') {
      if (!ISO_TIME.test(p.value.trim()) || Number.isNaN(Date.parse(p.value))) throw bad();
    } else if (type === 'boolean') {
      if (!/^(true|false)$/i.test(p.value.trim())) throw bad();
    }
    if (tag === PR_MESSAGE_FLAGS && type === 'integer') out.flags = Number(p.value);
    else if (tag === PR_MESSAGE_DELIVERY_TIME && type === 'systemtime') out.deliveryMs = Date.parse(p.value);
    else if (tag === PR_CLIENT_SUBMIT_TIME && type === 'systemtime') out.submitMs = Date.parse(p.value);
    else if (tag === PR_INTERNET_MESSAGE_ID && type === 'string') out.internetMessageId = p.value;
  }
  return out;
}

/** At most 5 headers, each named x-…/X-… (Graph's InvalidInternetMessageHeader[Collection]). */
function checkHeaders(headers: ReadonlyArray<{ name: string; value: string }> | undefined): void {
  if (headers === undefined) return;
  if (headers.length === 0 || headers.length > 5) {
    throw new GraphError(
      400,
      'InvalidInternetMessageHeaderCollection',
      headers.length === 0
        ? 'The internet message header collection must not be empty.'
        : 'Maximum number of headers in one message should be less than or equal to 5.',
    );
  }
  for (const h of headers) {
    if (!/^[xX]-/.test(h.name)) {
      throw new GraphError(
        400,
        'InvalidInternetMessageHeader',
        `The internet message header name '${h.name}' should start with 'x-' or 'X-'.`,
      );
    }
    if (!/^[!-9;-~]+$/.test(h.name) || /[\r\n]/.test(h.value)) {
      throw new GraphError(
        400,
        'InvalidInternetMessageHeader',
        `The internet message header '${h.name}' is not valid.`,
      );
    }
  }
}

type FileAttachmentInput = z.output<typeof FileAttachmentBody>;

/** Checks a fileAttachment from JSON and decodes its content (< 3 MB). */
function fileAttachment(a: FileAttachmentInput): NewAttachment {
  const type = a['@odata.type'];
  if (type === undefined) {
    throw new GraphError(
      422,
      'UnprocessableType',
      "Cannot process input of abstract type 'Microsoft.OutlookServices.Attachment'",
    );
  }
  if (type !== '#microsoft.graph.fileAttachment') {
    throw new GraphError(
      501,
      'SandboxNotImplemented',
      `The Graph sandbox only implements fileAttachment, not '${type}'.`,
    );
  }
  const bytes = decodeBase64Strict(a.contentBytes);
  if (!bytes) {
    throw new GraphError(
      400,
      'RequestBodyRead',
      "Cannot convert the literal in 'contentBytes' to the expected type 'Edm.Binary'.",
    );
  }
  if (bytes.length >= MAX_SIMPLE_ATTACHMENT_BYTES) {
    throw new GraphError(
      413,
      'ErrorAttachmentSizeShouldNotBeGreaterThanMaximumSize',
      'An attachment of 3 MB or more must be added through an upload session.',
    );
  }
  return {
    name: a.name,
    contentType: a.contentType ?? 'application/octet-stream',
    bytes,
    isInline: a.isInline ?? false,
    ...(a.contentId ? { contentId: a.contentId } : {}),
  };
}

async function createFromJson(ctx: Ctx, folder: Folder): Promise<StoredMessage> {
  const input = parseWith(MessageCreate, requireJson(ctx), 'microsoft.graph.message');
  checkHeaders(input.internetMessageHeaders);
  const ext = extendedProperties(input.singleValueExtendedProperties ?? []);
  const attachments = (input.attachments ?? []).map(fileAttachment);
  const kind = (input.body?.contentType ?? 'text').toLowerCase();
  if (kind !== 'text' && kind !== 'html') {
    throw new GraphError(
      400,
      'RequestBodyRead',
      `Requested value '${input.body?.contentType}' was not found (body.contentType is text or html).`,
    );
  }
  const now = ctx.state.now();
  // A message is a draft unless PR_MESSAGE_FLAGS, set at creation, has MSGFLAG_UNSENT clear.
  const isDraft = ext.flags === undefined || (ext.flags & MSGFLAG_UNSENT) !== 0;
  return saveMessage(ctx, {
    folder,
    createdVia: 'json',
    isDraft,
    isRead: ext.flags !== undefined ? (ext.flags & MSGFLAG_READ) !== 0 : (input.isRead ?? true),
    ...(ext.internetMessageId ? { internetMessageId: ext.internetMessageId } : {}),
    subject: input.subject ?? '',
    ...(input.from ? { from: mailboxOf(input.from) } : {}),
    ...((input.sender ?? input.from) ? { sender: mailboxOf((input.sender ?? input.from)!) } : {}),
    to: (input.toRecipients ?? []).map(mailboxOf),
    cc: (input.ccRecipients ?? []).map(mailboxOf),
    bcc: (input.bccRecipients ?? []).map(mailboxOf),
    replyTo: (input.replyTo ?? []).map(mailboxOf),
    receivedMs: ext.deliveryMs ?? now,
    sentMs: ext.submitMs ?? now,
    hasMimeAttachments: false,
    body: { contentType: kind, content: input.body?.content ?? '' },
    internetMessageHeaders: input.internetMessageHeaders ?? [],
    singleValueExtendedProperties: input.singleValueExtendedProperties ?? [],
    attachments,
  });
}

// ---------------------------------------------------------------- attachments

export function attachmentTarget(ctx: Ctx, id: string, ref: string | undefined): StoredMessage {
  const m = messageIn(ctx.store!, id, ref);
  if (ctx.state.attachmentsRequireDraft && !m.isDraft) {
    throw new GraphError(
      400,
      'ErrorInvalidOperation',
      'Attachments can only be added to a draft message (sandbox option attachmentsRequireDraft).',
    );
  }
  return m;
}

export async function addAttachment(ctx: Ctx, m: StoredMessage, a: NewAttachment): Promise<StoredAttachment> {
  const s = ctx.store!;
  const now = iso(ctx.state.now());
  const stored: StoredAttachment = {
    ...a,
    size: a.bytes.length,
    id: s.nextId('attachment'),
    lastModifiedDateTime: now,
  };
  m.attachments.push(stored);
  m.lastModifiedDateTime = now;
  delete m.composed;
  // A MIME item's bytes stay as sent; the attachment is listed beside them (README: read-back). A JSON
  // item's rendering changes, so its mirror file is rewritten (while its content is kept).
  if (m.createdVia === 'json' && ctx.state.keepContent) await mirrorItem(ctx.state, ctx.user!, s, m);
  if (!ctx.state.keepContent) dropAttachment(stored);
  return stored;
}

export async function createAttachment(ctx: Ctx, id: string, ref: string | undefined): Promise<Reply> {
  allowOnly(ctx.url.searchParams, []);
  const m = attachmentTarget(ctx, id, ref);
  const input = parseWith(FileAttachmentBody, requireJson(ctx), 'microsoft.graph.fileAttachment');
  const a = await addAttachment(ctx, m, fileAttachment(input));
  return {
    status: 201,
    json: {
      '@odata.context': context(ctx, `messages('${m.id}')/attachments/$entity`),
      ...attachmentJson(a, true),
    },
    committed: true,
  };
}

export async function listAttachments(ctx: Ctx, id: string, ref: string | undefined): Promise<Reply> {
  allowOnly(ctx.url.searchParams, ['$select'], ['$expand', '$filter', '$top']);
  const m = messageIn(ctx.store!, id, ref);
  const fromMime = m.mime ? await mimeAttachmentsOf(ctx, m) : [];
  return {
    status: 200,
    json: {
      '@odata.context': context(ctx, `messages('${m.id}')/attachments`),
      value: [...fromMime, ...m.attachments].map((a) => attachmentJson(a, true)),
    },
  };
}

async function mimeAttachmentsOf(ctx: Ctx, m: StoredMessage): Promise<StoredAttachment[]> {
  return (await mimeAttachments(m.mime!)).map((a, i) => ({
    id: `${m.id.slice(0, -1)}${i}=`,
    name: a.name,
    contentType: a.contentType,
    bytes: a.bytes,
    size: a.bytes.length,
    isInline: a.isInline,
    ...(a.contentId ? { contentId: a.contentId } : {}),
    lastModifiedDateTime: ctx.store!.message(m.id).createdDateTime,
  }));
}

// ---------------------------------------------------------------- helpers

function context(ctx: Ctx, tail: string): string {
  return `${ctx.state.baseUrl}/${ctx.version}/$metadata#users('${encodeURIComponent(ctx.user!.id)}')/${tail}`;
}

function nextLink(ctx: Ctx, skip: number): string {
  const next = new URL(ctx.url.href);
  next.searchParams.set('$skip', String(skip));
  return next.href;
}
