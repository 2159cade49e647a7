/**
 * Test helpers: HTTPS calls that trust the sandbox's CA (and nothing else), tokens through the real
 * @azure/identity credentials, and small MIME builders.
 */
import https from 'node:https';
import { ClientSecretCredential, type ClientSecretCredentialOptions } from '@azure/identity';
import type { GraphSandbox } from '../../dev/graph-sandbox/index.js';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers are read loosely in tests
  json(): any;
}

type PipelinePolicy = NonNullable<ClientSecretCredentialOptions['additionalPolicies']>[number]['policy'];

const agents = new WeakMap<GraphSandbox, https.Agent>();

export function agentFor(sb: GraphSandbox): https.Agent {
  let a = agents.get(sb);
  if (!a) {
    a = new https.Agent({ ca: sb.caPem, keepAlive: true, maxSockets: 64 });
    agents.set(sb, a);
  }
  return a;
}

/** A policy that makes @azure/core-rest-pipeline (and so @azure/identity) trust the sandbox CA. */
export function trustPolicy(sb: GraphSandbox): PipelinePolicy {
  const agent = agentFor(sb);
  return {
    name: 'graphSandboxTrust',
    sendRequest: (request, next) => {
      request.agent = agent;
      return next(request);
    },
  };
}

export function credential(sb: GraphSandbox, secret = sb.clientSecret): ClientSecretCredential {
  return new ClientSecretCredential(sb.tenantId, sb.clientId, secret, {
    authorityHost: sb.url,
    disableInstanceDiscovery: true,
    additionalPolicies: [{ policy: trustPolicy(sb), position: 'perCall' }],
  });
}

export async function token(sb: GraphSandbox): Promise<string> {
  const t = await credential(sb).getToken('https://graph.microsoft.com/.default');
  return t.token;
}

export interface CallOptions {
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Sends the body without Content-Length (chunked). */
  chunked?: boolean;
}

export function call(
  sb: GraphSandbox,
  method: string,
  pathOrUrl: string,
  o: CallOptions = {},
): Promise<Answer> {
  const url = new URL(pathOrUrl, sb.url);
  const body = typeof o.body === 'string' ? Buffer.from(o.body) : o.body;
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method,
        agent: agentFor(sb),
        headers: {
          ...(body && !o.chunked ? { 'content-length': String(body.length) } : {}),
          ...o.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const buf = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: buf,
            json: () => JSON.parse(buf.toString('utf8')),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A Graph call with a bearer token; `body` objects are sent as JSON. */
export function graph(
  sb: GraphSandbox,
  bearer: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const json = body !== undefined && !Buffer.isBuffer(body) && typeof body !== 'string';
  return call(sb, method, path, {
    headers: {
      authorization: `Bearer ${bearer}`,
      ...(json ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: json ? JSON.stringify(body) : (body as Buffer | string) } : {}),
  });
}

export function importMime(
  sb: GraphSandbox,
  bearer: string,
  user: string,
  folderId: string,
  mime: Buffer,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return graph(
    sb,
    bearer,
    'POST',
    `/beta/users/${encodeURIComponent(user)}/mailFolders/${encodeURIComponent(folderId)}/importMime`,
    mime.toString('base64'),
    {
      'content-type': 'text/plain',
      ...headers,
    },
  );
}

export const FOLDER = 'LivePerson Conversational Cloud DataParser';

/** Creates (or finds) Inbox/<FOLDER> for a user and returns its id. */
export async function ensureFolder(
  sb: GraphSandbox,
  bearer: string,
  user: string,
  name = FOLDER,
): Promise<string> {
  const u = encodeURIComponent(user);
  const created = await graph(sb, bearer, 'POST', `/v1.0/users/${u}/mailFolders/inbox/childFolders`, {
    displayName: name,
  });
  if (created.status === 201) return created.json().id;
  const q = new URLSearchParams({ $filter: `displayName eq '${name.replace(/'/g, "''")}'` });
  const found = await graph(sb, bearer, 'GET', `/v1.0/users/${u}/mailFolders/inbox/childFolders?${q}`);
  return found.json().value[0].id;
}

/** A small valid message; `extra` lines are inserted in the header section. */
export function eml(
  opts: { messageId?: string; subject?: string; date?: string; body?: string; extra?: string[] } = {},
): Buffer {
  const lines = [
    'From: Alex Smith <alex.smith@example.com>',
    'To: Jane Doe <jane.doe@brand.example>',
    `Subject: ${opts.subject ?? 'LivePerson conversation with Alex Smith'}`,
    `Date: ${opts.date ?? 'Mon, 04 Mar 2024 09:15:02 +0000'}`,
    ...(opts.messageId === undefined
      ? ['Message-ID: <lp.1.abc.v1@liveperson-archiver.invalid>']
      : opts.messageId
        ? [`Message-ID: ${opts.messageId}`]
        : []),
    'MIME-Version: 1.0',
    ...(opts.extra ?? []),
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 7bit',
    '',
    opts.body ?? 'Hello from the transcript.',
    '',
  ];
  return Buffer.from(lines.join('\r\n'));
}
