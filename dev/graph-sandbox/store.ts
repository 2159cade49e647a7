/**
 * One Exchange Online mailbox in memory: its folder tree (the well-known folders, then whatever the client
 * creates), its messages with how each was created, their attachments, and the JSON shapes Graph returns for
 * folders, messages and attachments.
 */
import { GraphError } from './errors.js';
import { outlookId } from './ids.js';
import type { Mailbox } from './mime.js';

export type CreatedVia = 'importMime' | 'mime' | 'json';

export interface StoredAttachment {
  id: string;
  name: string;
  contentType: string;
  /** Empty when the sandbox runs with keepContent: false (size and sha256 stay). */
  bytes: Buffer;
  size: number;
  sha256?: string;
  isInline: boolean;
  contentId?: string;
  lastModifiedDateTime: string;
}

export interface StoredMessage {
  id: string;
  userId: string;
  folderId: string;
  /** 1-based position among the items ever stored in its folder (names mirror files). */
  seq: number;
  createdVia: CreatedVia;
  isDraft: boolean;
  isRead: boolean;
  internetMessageId: string;
  subject: string;
  from?: Mailbox;
  sender?: Mailbox;
  to: Mailbox[];
  cc: Mailbox[];
  bcc: Mailbox[];
  replyTo: Mailbox[];
  createdDateTime: string;
  lastModifiedDateTime: string;
  receivedDateTime: string;
  sentDateTime: string | null;
  hasMimeAttachments: boolean;
  changeKey: string;
  conversationId: string;
  /** importMime / mime: the decoded bytes exactly as sent (dropped with keepContent: false). */
  mime?: Buffer;
  /** Set when the content was dropped (keepContent: false): what it was. */
  dropped?: { sha256: string; size: number };
  /** json: what the create request said. */
  body?: { contentType: 'text' | 'html'; content: string };
  internetMessageHeaders: Array<{ name: string; value: string }>;
  singleValueExtendedProperties: Array<{ id: string; value: string }>;
  /** Attachments added from JSON (in the create, by POST, or through an upload session). */
  attachments: StoredAttachment[];
  /** json: cached MailComposer rendering, dropped when attachments change. */
  composed?: Buffer;
  /** Cached body of a MIME item (parsed on first read). */
  parsedBody?: { contentType: 'text' | 'html'; content: string };
}

export interface Folder {
  id: string;
  displayName: string;
  parentFolderId: string;
  wellKnownName?: string;
  children: string[];
  messages: string[];
  nextSeq: number;
}

const WELL_KNOWN: ReadonlyArray<[string, string]> = [
  ['inbox', 'Inbox'],
  ['drafts', 'Drafts'],
  ['sentitems', 'Sent Items'],
  ['deleteditems', 'Deleted Items'],
  ['junkemail', 'Junk Email'],
  ['outbox', 'Outbox'],
  ['archive', 'Archive'],
];

export class MailboxStore {
  readonly folders = new Map<string, Folder>();
  readonly messages = new Map<string, StoredMessage>();
  private readonly byInternetMessageId = new Map<string, string[]>();
  private readonly wellKnown = new Map<string, string>();
  readonly rootId: string;
  private counter = 0;

  constructor(
    readonly userId: string,
    private readonly seed: number,
  ) {
    this.rootId = outlookId('folder', seed, `${userId}:msgfolderroot`);
    this.folders.set(this.rootId, {
      id: this.rootId,
      displayName: 'Top of Information Store',
      parentFolderId: outlookId('folder', seed, `${userId}:root`),
      wellKnownName: 'msgfolderroot',
      children: [],
      messages: [],
      nextSeq: 1,
    });
    this.wellKnown.set('msgfolderroot', this.rootId);
    for (const [name, displayName] of WELL_KNOWN) {
      const f = this.addFolder(this.rootId, displayName, name);
      this.wellKnown.set(name, f.id);
    }
  }

  nextId(kind: 'item' | 'attachment' | 'session'): string {
    return outlookId(kind, this.seed, `${this.userId}:${++this.counter}`);
  }

  private addFolder(parentId: string, displayName: string, wellKnownName?: string): Folder {
    const parent = this.folders.get(parentId)!;
    const f: Folder = {
      id: outlookId(
        'folder',
        this.seed,
        `${this.userId}:${parentId}:${displayName.toLowerCase()}:${++this.counter}`,
      ),
      displayName,
      parentFolderId: parentId,
      ...(wellKnownName ? { wellKnownName } : {}),
      children: [],
      messages: [],
      nextSeq: 1,
    };
    this.folders.set(f.id, f);
    parent.children.push(f.id);
    return f;
  }

  /** A folder by well-known name (case-insensitive) or id; 404 ErrorItemNotFound otherwise. */
  folder(ref: string): Folder {
    const id = this.wellKnown.get(ref.toLowerCase()) ?? ref;
    const f = this.folders.get(id);
    if (!f)
      throw new GraphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
    return f;
  }

  /** Creates a child folder; a sibling with the same name (case-insensitive) → 409 ErrorFolderExists. */
  createChild(parent: Folder, displayName: string): Folder {
    const lower = displayName.toLowerCase();
    if (parent.children.some((c) => this.folders.get(c)!.displayName.toLowerCase() === lower)) {
      throw new GraphError(409, 'ErrorFolderExists', 'A folder with the specified name already exists.');
    }
    return this.addFolder(parent.id, displayName);
  }

  /** Names from the top of the store down to the folder (excluding the root). */
  pathOf(folder: Folder): string[] {
    const names: string[] = [];
    let f: Folder | undefined = folder;
    while (f && f.id !== this.rootId) {
      names.unshift(f.displayName);
      f = this.folders.get(f.parentFolderId);
    }
    return names;
  }

  folderByPath(path: readonly string[]): Folder | undefined {
    let f = this.folders.get(this.rootId)!;
    for (const name of path) {
      const lower = name.toLowerCase();
      const next = f.children
        .map((c) => this.folders.get(c)!)
        .find((c) => c.displayName.toLowerCase() === lower);
      if (!next) return undefined;
      f = next;
    }
    return f;
  }

  add(message: Omit<StoredMessage, 'seq'>): StoredMessage {
    const folder = this.folders.get(message.folderId)!;
    const m: StoredMessage = { ...message, seq: folder.nextSeq++ };
    this.messages.set(m.id, m);
    folder.messages.push(m.id);
    const same = this.byInternetMessageId.get(m.internetMessageId);
    if (same) same.push(m.id);
    else this.byInternetMessageId.set(m.internetMessageId, [m.id]);
    return m;
  }

  message(id: string): StoredMessage {
    const m = this.messages.get(id);
    if (!m)
      throw new GraphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
    return m;
  }

  /** Messages with exactly this internetMessageId, optionally only in one folder. */
  withInternetMessageId(value: string, folderId?: string): StoredMessage[] {
    return (this.byInternetMessageId.get(value) ?? [])
      .map((id) => this.messages.get(id)!)
      .filter((m) => folderId === undefined || m.folderId === folderId);
  }

  inFolder(folderId?: string): StoredMessage[] {
    const ids = folderId === undefined ? [...this.messages.keys()] : this.folders.get(folderId)!.messages;
    return ids.map((id) => this.messages.get(id)!);
  }
}

const recipient = (m: Mailbox) => ({ emailAddress: { name: m.name ?? m.address, address: m.address } });

export const MESSAGE_PROPERTIES = [
  'id',
  'createdDateTime',
  'lastModifiedDateTime',
  'changeKey',
  'categories',
  'receivedDateTime',
  'sentDateTime',
  'hasAttachments',
  'internetMessageId',
  'subject',
  'bodyPreview',
  'importance',
  'parentFolderId',
  'conversationId',
  'conversationIndex',
  'isDeliveryReceiptRequested',
  'isReadReceiptRequested',
  'isRead',
  'isDraft',
  'webLink',
  'inferenceClassification',
  'body',
  'sender',
  'from',
  'toRecipients',
  'ccRecipients',
  'bccRecipients',
  'replyTo',
  'flag',
] as const;

/** Properties only returned when selected. */
const SELECT_ONLY = ['internetMessageHeaders', 'uniqueBody'] as const;

export function messageSelection(select: string[] | undefined): string[] {
  if (!select) return [...MESSAGE_PROPERTIES];
  const known = [...MESSAGE_PROPERTIES, ...SELECT_ONLY] as string[];
  return select.map((p) => {
    const k = known.find((n) => n.toLowerCase() === p.toLowerCase());
    if (!k) {
      throw new GraphError(
        400,
        'RequestBroker--ParseUri',
        `Could not find a property named '${p}' on type 'Microsoft.OutlookServices.Message'.`,
      );
    }
    return k;
  });
}

export function needsBody(selection: readonly string[]): boolean {
  return selection.some((p) => p === 'body' || p === 'bodyPreview' || p === 'uniqueBody');
}

export function hasAttachments(m: StoredMessage): boolean {
  return m.hasMimeAttachments || m.attachments.some((a) => !a.isInline);
}

/** The message as Graph shows it; `headers` feeds internetMessageHeaders for MIME items. */
export function messageJson(
  m: StoredMessage,
  selection: readonly string[],
  extra: { headers?: Array<{ name: string; value: string }> } = {},
): Record<string, unknown> {
  const body = m.body ?? m.parsedBody ?? { contentType: 'text' as const, content: '' };
  const preview = (body.contentType === 'html' ? body.content.replace(/<[^>]*>/g, ' ') : body.content)
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 255);
  const all: Record<string, () => unknown> = {
    id: () => m.id,
    createdDateTime: () => m.createdDateTime,
    lastModifiedDateTime: () => m.lastModifiedDateTime,
    changeKey: () => m.changeKey,
    categories: () => [],
    receivedDateTime: () => m.receivedDateTime,
    sentDateTime: () => m.sentDateTime,
    hasAttachments: () => hasAttachments(m),
    internetMessageId: () => m.internetMessageId,
    subject: () => m.subject,
    bodyPreview: () => preview,
    importance: () => 'normal',
    parentFolderId: () => m.folderId,
    conversationId: () => m.conversationId,
    conversationIndex: () => Buffer.from(m.conversationId.slice(0, 22)).toString('base64'),
    isDeliveryReceiptRequested: () => false,
    isReadReceiptRequested: () => false,
    isRead: () => m.isRead,
    isDraft: () => m.isDraft,
    webLink: () =>
      `https://outlook.office365.com/owa/?ItemID=${encodeURIComponent(m.id)}&exvsurl=1&viewmodel=ReadMessageItem`,
    inferenceClassification: () => 'focused',
    body: () => body,
    uniqueBody: () => body,
    sender: () => ((m.sender ?? m.from) ? recipient((m.sender ?? m.from)!) : null),
    from: () => (m.from ? recipient(m.from) : null),
    toRecipients: () => m.to.map(recipient),
    ccRecipients: () => m.cc.map(recipient),
    bccRecipients: () => m.bcc.map(recipient),
    replyTo: () => m.replyTo.map(recipient),
    flag: () => ({ flagStatus: 'notFlagged' }),
    internetMessageHeaders: () => extra.headers ?? m.internetMessageHeaders,
  };
  const out: Record<string, unknown> = { '@odata.etag': `W/"${m.changeKey}"` };
  for (const p of selection) out[p] = all[p]!();
  if (!('id' in out)) out.id = m.id;
  return out;
}

export function folderJson(store: MailboxStore, f: Folder): Record<string, unknown> {
  return {
    id: f.id,
    displayName: f.displayName,
    parentFolderId: f.parentFolderId,
    childFolderCount: f.children.length,
    unreadItemCount: f.messages.filter((id) => !store.messages.get(id)!.isRead).length,
    totalItemCount: f.messages.length,
    sizeInBytes: f.messages.reduce((s, id) => s + (store.messages.get(id)!.mime?.length ?? 0), 0),
    isHidden: false,
  };
}

export function attachmentJson(a: StoredAttachment, withContent: boolean): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.fileAttachment',
    '@odata.mediaContentType': a.contentType,
    id: a.id,
    lastModifiedDateTime: a.lastModifiedDateTime,
    name: a.name,
    contentType: a.contentType,
    size: a.size,
    isInline: a.isInline,
    contentId: a.contentId ?? null,
    contentLocation: null,
    ...(withContent ? { contentBytes: a.bytes.toString('base64') } : {}),
  };
}
