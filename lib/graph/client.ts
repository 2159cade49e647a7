/**
 * The Microsoft Graph operations the archiver uses, each validated with zod: users (by UPN/id, by mail,
 * by proxy address), Inbox child folders, messages by internetMessageId, `importMime` (beta), JSON message
 * create, attachments and attachment upload sessions. Paths and semantics follow Microsoft's Graph
 * reference; see lib/graph/README.md for the sources.
 */
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { GraphError } from './errors.js';
import type { GraphHttp } from './http.js';

export const GraphUserSchema = z.looseObject({
  id: z.string().min(1),
  userPrincipalName: z.string().optional(),
  mail: z.string().nullable().optional(),
  displayName: z.string().nullable().optional(),
  accountEnabled: z.boolean().nullable().optional(),
});
export type GraphUser = z.infer<typeof GraphUserSchema>;

const UserListSchema = z.looseObject({ value: z.array(GraphUserSchema) });

export const MailFolderSchema = z.looseObject({
  id: z.string().min(1),
  displayName: z.string(),
});
export type MailFolder = z.infer<typeof MailFolderSchema>;
const FolderListSchema = z.looseObject({
  value: z.array(MailFolderSchema),
  '@odata.nextLink': z.string().optional(),
});

export const GraphMessageSchema = z.looseObject({
  id: z.string().min(1),
  internetMessageId: z.string().nullable().optional(),
  isDraft: z.boolean().nullable().optional(),
  receivedDateTime: z.string().nullable().optional(),
  sentDateTime: z.string().nullable().optional(),
});
export type GraphMessage = z.infer<typeof GraphMessageSchema>;
const MessageListSchema = z.looseObject({ value: z.array(GraphMessageSchema) });

const AttachmentListSchema = z.looseObject({
  value: z.array(
    z.looseObject({ id: z.string(), name: z.string().nullable().optional(), size: z.number().optional() }),
  ),
  '@odata.nextLink': z.string().optional(),
});

const UploadSessionSchema = z.looseObject({
  uploadUrl: z.string().min(1),
  nextExpectedRanges: z.array(z.string()).optional(),
});
const RangeAnswerSchema = z.looseObject({ nextExpectedRanges: z.array(z.string()).optional() });

/** OData string literal: single quotes doubled (the value is then URL-encoded as a query parameter). */
export function odataString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

const seg = encodeURIComponent;

export interface GraphClientOptions {
  /** e.g. https://graph.microsoft.com (the sandbox's origin locally). */
  baseUrl: URL;
}

export class GraphClient {
  constructor(
    private readonly http: GraphHttp,
    private readonly opts: GraphClientOptions,
  ) {}

  private url(version: 'v1.0' | 'beta', path: string, query?: Record<string, string>): URL {
    const u = new URL(`/${version}${path}`, this.opts.baseUrl);
    for (const [k, v] of Object.entries(query ?? {})) u.searchParams.set(k, v);
    return u;
  }

  /** A user by object id or userPrincipalName; undefined when there is none. */
  async getUser(idOrUpn: string): Promise<GraphUser | undefined> {
    const res = await this.http.send({
      endpoint: 'users.get',
      describe: 'user lookup',
      method: 'GET',
      url: this.url('v1.0', `/users/${seg(idOrUpn)}`, {
        $select: 'id,userPrincipalName,mail,displayName,accountEnabled',
      }),
      host: 'graph',
      auth: true,
      idempotent: true,
      passStatuses: [404, 400],
    });
    if (res.status === 404 || res.status === 400) return undefined;
    return GraphUserSchema.parse(JSON.parse(res.body.toString('utf8')));
  }

  /** Users whose `mail` is `address`. */
  async findUsersByMail(address: string): Promise<GraphUser[]> {
    return this.listUsers(`mail eq ${odataString(address)}`, false);
  }

  /** Users holding `address` as a proxy address (smtp:, any case). */
  async findUsersByProxyAddress(address: string): Promise<GraphUser[]> {
    // Both spellings: the primary address is stored as SMTP:, secondary ones as smtp:.
    return this.listUsers(
      `proxyAddresses/any(x:x eq ${odataString(`smtp:${address}`)}) or proxyAddresses/any(x:x eq ${odataString(`SMTP:${address}`)})`,
      true,
    );
  }

  private async listUsers(filter: string, advanced: boolean): Promise<GraphUser[]> {
    const { data } = await this.http.json(
      {
        endpoint: 'users.list',
        describe: 'user search',
        method: 'GET',
        url: this.url('v1.0', '/users', {
          $filter: filter,
          $select: 'id,userPrincipalName,mail,displayName,accountEnabled',
          $top: '5',
          ...(advanced ? { $count: 'true' } : {}),
        }),
        ...(advanced ? { headers: { ConsistencyLevel: 'eventual' } } : {}),
        host: 'graph',
        auth: true,
        idempotent: true,
      },
      UserListSchema,
    );
    return data.value;
  }

  /** Child folders of `parent` (a folder id or a well-known name such as `inbox`) with this display name. */
  async findChildFolder(user: string, parent: string, displayName: string): Promise<MailFolder | undefined> {
    const { data } = await this.http.json(
      {
        endpoint: 'folders.list',
        describe: 'mail folder lookup',
        method: 'GET',
        url: this.url('v1.0', `/users/${seg(user)}/mailFolders/${seg(parent)}/childFolders`, {
          $filter: `displayName eq ${odataString(displayName)}`,
          $select: 'id,displayName',
        }),
        host: 'graph',
        auth: true,
        idempotent: true,
        mailbox: user,
      },
      FolderListSchema,
    );
    return data.value.find((f) => f.displayName.toLowerCase() === displayName.toLowerCase());
  }

  /** Creates a child folder; `exists` when a folder of that name is already there (409 ErrorFolderExists). */
  async createChildFolder(
    user: string,
    parent: string,
    displayName: string,
  ): Promise<{ created: true; folder: MailFolder } | { created: false }> {
    const res = await this.http.send({
      endpoint: 'folders.create',
      describe: 'mail folder create',
      method: 'POST',
      url: this.url('v1.0', `/users/${seg(user)}/mailFolders/${seg(parent)}/childFolders`),
      body: { kind: 'json', value: { displayName } },
      host: 'graph',
      auth: true,
      // Creating a folder twice is answered 409, so re-sending is harmless.
      idempotent: true,
      mailbox: user,
      passStatuses: [409],
    });
    if (res.status === 409) return { created: false };
    return { created: true, folder: MailFolderSchema.parse(JSON.parse(res.body.toString('utf8'))) };
  }

  /** Messages in a folder with this exact internetMessageId (angle brackets included). */
  async findMessages(user: string, folderId: string, internetMessageId: string): Promise<GraphMessage[]> {
    const { data } = await this.http.json(
      {
        endpoint: 'messages.list',
        describe: 'message lookup by internetMessageId',
        method: 'GET',
        url: this.url('v1.0', `/users/${seg(user)}/mailFolders/${seg(folderId)}/messages`, {
          $filter: `internetMessageId eq ${odataString(internetMessageId)}`,
          $select: 'id,internetMessageId,isDraft,receivedDateTime,sentDateTime',
        }),
        host: 'graph',
        auth: true,
        idempotent: true,
        mailbox: user,
      },
      MessageListSchema,
    );
    return data.value;
  }

  /**
   * Graph beta `mailFolder: importMime`: a non-draft message from MIME, as if delivered. The body is the
   * base64 of the MIME, streamed; `base64Length` is its exact length.
   */
  async importMime(
    user: string,
    folderId: string,
    base64: { open: () => Readable | Promise<Readable>; length: number },
    timeoutMs?: number,
  ): Promise<GraphMessage> {
    const { data } = await this.http.json(
      {
        endpoint: 'importMime',
        describe: 'importMime',
        method: 'POST',
        url: this.url('beta', `/users/${seg(user)}/mailFolders/${seg(folderId)}/importMime`),
        body: { kind: 'stream', contentType: 'text/plain', length: base64.length, open: base64.open },
        host: 'graph',
        auth: true,
        idempotent: false,
        mailbox: user,
        ...(timeoutMs ? { timeoutMs } : {}),
      },
      GraphMessageSchema,
    );
    return data;
  }

  /** v1.0 JSON create in a folder (a draft unless PR_MESSAGE_FLAGS says otherwise at creation). */
  async createMessage(
    user: string,
    folderId: string,
    message: unknown,
    timeoutMs?: number,
  ): Promise<GraphMessage> {
    const { data } = await this.http.json(
      {
        endpoint: 'messages.create',
        describe: 'message create',
        method: 'POST',
        url: this.url('v1.0', `/users/${seg(user)}/mailFolders/${seg(folderId)}/messages`),
        body: { kind: 'json', value: message },
        host: 'graph',
        auth: true,
        idempotent: false,
        mailbox: user,
        ...(timeoutMs ? { timeoutMs } : {}),
      },
      GraphMessageSchema,
    );
    return data;
  }

  /** A file attachment under 3 MB in one request; the JSON body is streamed (contentBytes is base64). */
  async addAttachment(
    user: string,
    messageId: string,
    body: { open: () => Readable | Promise<Readable>; length: number },
  ): Promise<void> {
    await this.http.send({
      endpoint: 'attachments.create',
      describe: 'attachment add',
      method: 'POST',
      url: this.url('v1.0', `/users/${seg(user)}/messages/${seg(messageId)}/attachments`),
      body: { kind: 'stream', contentType: 'application/json', length: body.length, open: body.open },
      host: 'graph',
      auth: true,
      idempotent: false,
      mailbox: user,
    });
  }

  /** The names of a message's attachments (to finish a JSON import an earlier attempt began). */
  async listAttachmentNames(user: string, messageId: string): Promise<string[]> {
    const names: string[] = [];
    let next: URL | undefined = this.url(
      'v1.0',
      `/users/${seg(user)}/messages/${seg(messageId)}/attachments`,
      {
        $select: 'id,name,size',
      },
    );
    for (let page = 0; next && page < 50; page++) {
      const res: { data: z.infer<typeof AttachmentListSchema> } = await this.http.json(
        {
          endpoint: 'attachments.list',
          describe: 'attachment list',
          method: 'GET',
          url: next,
          host: 'graph',
          auth: true,
          idempotent: true,
          mailbox: user,
        },
        AttachmentListSchema,
      );
      for (const a of res.data.value) if (a.name) names.push(a.name);
      const link = res.data['@odata.nextLink'];
      next = link ? new URL(link) : undefined;
    }
    return names;
  }

  async createUploadSession(
    user: string,
    messageId: string,
    item: { name: string; size: number; contentType: string; isInline?: boolean; contentId?: string },
  ): Promise<{ uploadUrl: URL; nextExpectedRanges: string[] }> {
    const { data } = await this.http.json(
      {
        endpoint: 'uploadSession.create',
        describe: 'attachment upload session',
        method: 'POST',
        url: this.url(
          'v1.0',
          `/users/${seg(user)}/messages/${seg(messageId)}/attachments/createUploadSession`,
        ),
        body: { kind: 'json', value: { AttachmentItem: { attachmentType: 'file', ...item } } },
        host: 'graph',
        auth: true,
        idempotent: false,
        mailbox: user,
      },
      UploadSessionSchema,
    );
    let url: URL;
    try {
      url = new URL(data.uploadUrl);
    } catch {
      throw new GraphError(
        'Graph attachment upload session gave an invalid uploadUrl',
        'uploadSession.create',
      );
    }
    return { uploadUrl: url, nextExpectedRanges: data.nextExpectedRanges ?? ['0-'] };
  }

  /**
   * One byte range (< 4 MB) of an upload session. No token: the URL is pre-authenticated, and it must be
   * on a Microsoft upload host (or allow-listed). `done` once Graph answers 201 for the last range.
   */
  async uploadRange(
    mailbox: string,
    uploadUrl: URL,
    bytes: Buffer,
    start: number,
    total: number,
  ): Promise<{ done: boolean; nextExpectedRanges: string[] }> {
    const res = await this.http.send({
      endpoint: 'uploadSession.put',
      describe: `attachment upload range ${start}-${start + bytes.length - 1}/${total}`,
      method: 'PUT',
      url: uploadUrl,
      headers: { 'content-range': `bytes ${start}-${start + bytes.length - 1}/${total}` },
      body: { kind: 'bytes', contentType: 'application/octet-stream', bytes },
      host: 'upload',
      auth: false,
      // The same range sent twice is answered with the session's state (or 416): harmless.
      idempotent: true,
      mailbox,
    });
    if (res.status === 201) return { done: true, nextExpectedRanges: [] };
    let next: string[] = [];
    try {
      next = RangeAnswerSchema.parse(JSON.parse(res.body.toString('utf8') || '{}')).nextExpectedRanges ?? [];
    } catch {
      next = [];
    }
    return { done: false, nextExpectedRanges: next };
  }
}
