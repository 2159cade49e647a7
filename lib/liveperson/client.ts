/**
 * The LivePerson client: composes domain discovery, auth, the HTTP core and the per-API modules behind
 * the `LivePersonClient` contract. One client per account (the concurrency cap is per client).
 */
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { BearerTokenSource, oauth1Auth } from './auth.js';
import type { LivePersonConfig } from './config.js';
import type { ConversationPage, LivePersonClient } from './contract.js';
import { DomainResolver } from './domains.js';
import {
  BulkFileDownload,
  type DisposableFileProvider,
  type FileGroup,
  type FileGroupMember,
} from './hosted-files.js';
import { HttpCore, type RequestAuth, realSleep, type Sleep } from './http.js';
import { MessagingInteractions, type SearchOptions } from './messaging.js';
import { UsersCache } from './users.js';
import type { UsersDirectory } from './users-schema.js';

export interface ClientDeps {
  logger?: Logger;
  fetch?: typeof fetch;
  /** Injected by tests to record pauses instead of waiting them out. */
  sleep?: Sleep;
  now?: () => number;
}

export interface ArchiverLivePersonClient extends LivePersonClient {
  searchConversations(query: SearchOptions, signal?: AbortSignal): AsyncIterable<ConversationPage>;
  hostedFiles(conversationId: string): DisposableFileProvider;
  /** The hosted files of several conversations, fetched with one Bulk File Download request (LP_FILES_REQUEST). */
  hostedFilesOf(members: readonly FileGroupMember[]): FileGroup;
}

export function createLivePersonClient(
  config: LivePersonConfig,
  deps: ClientDeps = {},
): ArchiverLivePersonClient {
  const logger = deps.logger ?? silentLogger;
  const sleep = deps.sleep ?? realSleep;
  const now = deps.now ?? Date.now;
  let bearer: BearerTokenSource | undefined;
  const secrets = () => [
    config.oauth1?.appKey,
    config.oauth1?.appSecret,
    config.oauth1?.accessToken,
    config.oauth1?.accessTokenSecret,
    config.oauth2?.clientSecret,
    bearer?.current(),
    // Pairs as a Basic Authorization header or a form body would carry them (base64 of `id:secret`).
    ...(config.oauth2
      ? [
          `${config.oauth2.clientId}:${config.oauth2.clientSecret}`,
          `${encodeURIComponent(config.oauth2.clientId)}:${encodeURIComponent(config.oauth2.clientSecret)}`,
        ]
      : []),
    ...(config.oauth1 ? [`${config.oauth1.appKey}:${config.oauth1.appSecret}`] : []),
  ];
  const http = new HttpCore(config, { fetch: deps.fetch, sleep, logger, secrets });
  const domains = new DomainResolver(http, config.csdsUrl, config.accountId, config.allowedHosts, now);
  if (config.oauth2) {
    bearer = new BearerTokenSource(
      http,
      config.oauth2,
      config.accountId,
      (s) => domains.baseUrl('sentinel', s),
      now,
    );
  }
  const bearerAuth = bearer ? (signal?: AbortSignal) => bearer.auth(signal) : undefined;
  // msgHist and the Users API accept either scheme: API keys when set (no token round trip), else bearer.
  const keysAuth = config.oauth1 ? oauth1Auth(config.oauth1) : undefined;
  const dataAuth = (signal?: AbortSignal): RequestAuth => keysAuth ?? bearerAuth!(signal);

  const messaging = new MessagingInteractions({
    http,
    base: (s) => domains.baseUrl('msgHist', s),
    auth: dataAuth,
    accountId: config.accountId,
    source: config.source,
    readAhead: config.concurrency,
    retryBaseMs: config.retryBaseMs,
    sleep,
    logger,
  });
  const users = new UsersCache({
    http,
    base: (s) => domains.baseUrl('accountConfigReadOnly', s),
    auth: dataAuth,
    accountId: config.accountId,
    refreshMs: config.usersRefreshMs,
    now,
  });
  const files = new BulkFileDownload({
    http,
    base: (s) => domains.baseUrl('fms', s),
    bearer: bearerAuth,
    accountId: config.accountId,
    mode: config.filesRequest,
    pollMs: config.filesPollMs,
    pollMaxMs: config.filesPollMaxMs,
    pollAttempts: config.filesPollAttempts,
    limits: config.fileLimits,
    downloadTimeoutMs: config.filesDownloadTimeoutMs,
    downloadAttempts: config.filesDownloadAttempts,
    sleep,
    logger,
  });

  return {
    searchConversations: (query, signal) => messaging.search(query, signal),
    getConversationsById: (ids, signal) => messaging.byId(ids, undefined, signal),
    getUsers: (signal): Promise<UsersDirectory> => users.get(signal),
    hostedFiles: (conversationId) => files.provider(conversationId),
    hostedFilesOf: (members) => files.group(members),
    callCounts: () => http.callCounts(),
  };
}
