/**
 * What the rest of the app (export CLI, discovery, archive step) needs from LivePerson. Implemented by
 * lib/liveperson/client.ts; the local sandbox (dev/sandbox) serves the same HTTP contract.
 */
import type { HostedFileProvider } from '../email/contract.js';
import type { FileGroup, FileGroupMember } from './hosted-files.js';
import type { UsersDirectory } from './users-schema.js';

export type ConversationStatus = 'OPEN' | 'CLOSE';

export interface ConversationSearch {
  /** Conversation start window, epoch ms. Any length: split into windows of at most 3 months. */
  start: { from: number; to: number };
  /** Only conversations updated since this instant (epoch ms; LivePerson rounds it down to 10 minutes). */
  updatedSince?: number;
  status?: ConversationStatus[];
  /**
   * Containers to return besides `info` (LivePerson's contentToRetrieve). Default: everything an archive
   * item needs. Discovery asks for almost nothing: it reads `info` only.
   */
  contentToRetrieve?: readonly string[];
}

/** One page of search results: raw records (validated by the converter, not here) in API order. */
export interface ConversationPage {
  records: unknown[];
  offset: number;
  total: number;
}

export interface LivePersonClient {
  /** Streams pages; never holds a whole window in memory. Partial pages are refetched before yielding. */
  searchConversations(query: ConversationSearch, signal?: AbortSignal): AsyncIterable<ConversationPage>;
  /** Full records by ID (batched up to 100 per call); a missing ID is absent from the map. */
  getConversationsById(ids: readonly string[], signal?: AbortSignal): Promise<Map<string, unknown>>;
  /** Users directory incl. deleted users, cached with a refresh interval. */
  getUsers(signal?: AbortSignal): Promise<UsersDirectory>;
  /** Hosted-file bytes of one conversation (Bulk File Download), fetched lazily on first use. */
  hostedFiles(conversationId: string): HostedFileProvider;
  /**
   * Hosted-file bytes of a group of conversations: one Bulk File Download request for the group (or one per
   * conversation, per LP_FILES_REQUEST), on first use; each ZIP downloaded once. Dispose when the group is done.
   */
  hostedFilesOf(members: readonly FileGroupMember[]): FileGroup;
  /** Calls made so far, per endpoint name (csds, token, search, byId, users, files.create, ...). */
  callCounts(): Record<string, number>;
}
