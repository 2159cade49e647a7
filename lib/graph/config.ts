/**
 * Microsoft Graph settings (GRAPH_*), read once and validated with zod. Mailbox delivery is on when
 * GRAPH_TENANT_ID is set. Errors name the setting, never its value (the secret and certificate are
 * secrets).
 */
import { z } from 'zod';
import type { GraphCredentialConfig } from './auth.js';
import { GRAPH_MAILBOX_LIMITS, type MailboxLimits } from './mailbox-limiter.js';

const text = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

export const GraphEnvSchema = z.object({
  GRAPH_TENANT_ID: text,
  GRAPH_CLIENT_ID: text,
  GRAPH_CLIENT_SECRET: text,
  GRAPH_CLIENT_CERTIFICATE: text,
  GRAPH_CREDENTIAL: text,
  GRAPH_MANAGED_IDENTITY_CLIENT_ID: text,
  GRAPH_AUTHORITY_HOST: text,
  GRAPH_BASE_URL: text,
  GRAPH_ALLOWED_HOSTS: text,
  GRAPH_CA_CERT_FILE: text,
  GRAPH_IMPORT_MODE: text,
  GRAPH_TIMEOUT_MS: text,
  GRAPH_MAX_ATTEMPTS: text,
  GRAPH_MAILBOX_CONCURRENCY: text,
  GRAPH_MAILBOX_UPLOAD_MB_PER_5MIN: text,
});

export interface GraphConfig {
  tenantId: string;
  credential: GraphCredentialConfig;
  authorityHost: URL;
  baseUrl: URL;
  /** The token scope's resource (https://graph.microsoft.com unless a national cloud is used). */
  scope: string;
  allowedHosts: string[];
  caCertFile?: string;
  importMode: 'importMime' | 'json';
  timeoutMs: number;
  maxAttempts: number;
  limits: MailboxLimits;
}

export class GraphConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid Microsoft Graph settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'GraphConfigError';
  }
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function int(
  v: string | undefined,
  name: string,
  def: number,
  min: number,
  max: number,
  problems: string[],
): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${name} must be a whole number from ${min} to ${max}`);
    return def;
  }
  return n;
}

function url(v: string | undefined, name: string, def: string, problems: string[]): URL {
  try {
    const u = new URL(v ?? def);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('scheme');
    return new URL(u.origin);
  } catch {
    problems.push(`${name} must be an https URL such as ${def}`);
    return new URL(def);
  }
}

/** undefined when GRAPH_TENANT_ID is not set (mailbox delivery off). */
export function readGraphConfig(env: Record<string, string | undefined>): GraphConfig | undefined {
  const e = GraphEnvSchema.parse(env);
  if (!e.GRAPH_TENANT_ID) return undefined;
  const problems: string[] = [];
  if (!GUID.test(e.GRAPH_TENANT_ID) && !/^[a-z0-9.-]+\.[a-z]{2,}$/i.test(e.GRAPH_TENANT_ID))
    problems.push('GRAPH_TENANT_ID must be the tenant id (a GUID) or its primary domain');
  let credential: GraphCredentialConfig | undefined;
  const kind = e.GRAPH_CREDENTIAL?.toLowerCase();
  if (kind !== undefined && !['managedidentity', 'secret', 'certificate'].includes(kind))
    problems.push('GRAPH_CREDENTIAL must be managedidentity, secret or certificate');
  if (kind === 'managedidentity') {
    credential = { kind: 'managedIdentity', clientId: e.GRAPH_MANAGED_IDENTITY_CLIENT_ID };
  } else {
    if (!e.GRAPH_CLIENT_ID)
      problems.push('GRAPH_CLIENT_ID is required (the app registration of the archiver)');
    else if (!GUID.test(e.GRAPH_CLIENT_ID))
      problems.push('GRAPH_CLIENT_ID must be a GUID (the application id)');
    const secret = e.GRAPH_CLIENT_SECRET;
    const pem = e.GRAPH_CLIENT_CERTIFICATE?.replace(/\\n/g, '\n');
    if (kind === 'certificate' || (!secret && pem)) {
      if (!pem || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem) || !/-----BEGIN CERTIFICATE-----/.test(pem))
        problems.push('GRAPH_CLIENT_CERTIFICATE must be a PEM holding the certificate and its private key');
      else credential = { kind: 'certificate', clientId: e.GRAPH_CLIENT_ID ?? '', pem };
    } else if (secret) credential = { kind: 'secret', clientId: e.GRAPH_CLIENT_ID ?? '', secret };
    else
      problems.push(
        'set GRAPH_CLIENT_SECRET or GRAPH_CLIENT_CERTIFICATE, or GRAPH_CREDENTIAL=managedidentity',
      );
  }
  const mode = e.GRAPH_IMPORT_MODE ?? 'importMime';
  if (mode !== 'importMime' && mode !== 'json') problems.push('GRAPH_IMPORT_MODE must be importMime or json');
  const allowedHosts: string[] = [];
  for (const raw of (e.GRAPH_ALLOWED_HOSTS ?? '').split(',')) {
    const h = raw
      .trim()
      .toLowerCase()
      .replace(/^https?:\/\//, '');
    if (!h) continue;
    if (!/^[a-z0-9.-]+(:\d{1,5})?$/.test(h))
      problems.push(`GRAPH_ALLOWED_HOSTS entry '${h}' is not a host or host:port`);
    else allowedHosts.push(h);
  }
  const baseUrl = url(e.GRAPH_BASE_URL, 'GRAPH_BASE_URL', 'https://graph.microsoft.com', problems);
  const graphHosts = [
    'graph.microsoft.com',
    'graph.microsoft.us',
    'dod-graph.microsoft.us',
    'microsoftgraph.chinacloudapi.cn',
  ];
  const limits: MailboxLimits = {
    ...GRAPH_MAILBOX_LIMITS,
    concurrency: int(e.GRAPH_MAILBOX_CONCURRENCY, 'GRAPH_MAILBOX_CONCURRENCY', 4, 1, 4, problems),
    uploadBytes:
      int(e.GRAPH_MAILBOX_UPLOAD_MB_PER_5MIN, 'GRAPH_MAILBOX_UPLOAD_MB_PER_5MIN', 150, 1, 150, problems) *
      1024 *
      1024,
  };
  const config: GraphConfig = {
    tenantId: e.GRAPH_TENANT_ID,
    credential: credential ?? { kind: 'managedIdentity' },
    authorityHost: url(
      e.GRAPH_AUTHORITY_HOST,
      'GRAPH_AUTHORITY_HOST',
      'https://login.microsoftonline.com',
      problems,
    ),
    baseUrl,
    scope: graphHosts.includes(baseUrl.hostname) ? baseUrl.origin : 'https://graph.microsoft.com',
    allowedHosts,
    ...(e.GRAPH_CA_CERT_FILE ? { caCertFile: e.GRAPH_CA_CERT_FILE } : {}),
    importMode: mode === 'json' ? 'json' : 'importMime',
    timeoutMs: int(e.GRAPH_TIMEOUT_MS, 'GRAPH_TIMEOUT_MS', 60_000, 1000, 600_000, problems),
    maxAttempts: int(e.GRAPH_MAX_ATTEMPTS, 'GRAPH_MAX_ATTEMPTS', 5, 1, 20, problems),
    limits,
  };
  if (problems.length) throw new GraphConfigError(problems);
  return config;
}
