/** The Users API directory (incl. deleted users), cached and refreshed after an interval. */
import type { HttpCore, RequestAuth } from './http.js';
import { type UsersDirectory, UsersResponseSchema, usersDirectory } from './users-schema.js';

export class UsersCache {
  private cached: { at: number; directory: UsersDirectory } | undefined;
  private inflight: Promise<UsersDirectory> | undefined;

  constructor(
    private readonly d: {
      http: HttpCore;
      base: (signal?: AbortSignal) => Promise<URL>;
      auth: (signal?: AbortSignal) => RequestAuth;
      accountId: string;
      refreshMs: number;
      now: () => number;
    },
  ) {}

  async get(signal?: AbortSignal): Promise<UsersDirectory> {
    if (this.cached && this.d.now() - this.cached.at < this.d.refreshMs) return this.cached.directory;
    this.inflight ??= this.fetch(signal).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetch(signal?: AbortSignal): Promise<UsersDirectory> {
    const base = await this.d.base(signal);
    const url = new URL(
      `/api/account/${encodeURIComponent(this.d.accountId)}/configuration/le-users/users`,
      base,
    );
    url.searchParams.set('v', '6.0');
    url.searchParams.set('select', '$all');
    url.searchParams.set('include_deleted', 'true');
    const users = await this.d.http.json(
      { endpoint: 'users', describe: 'Users API', method: 'GET', url, auth: this.d.auth(signal), signal },
      UsersResponseSchema,
    );
    const directory = usersDirectory(users);
    this.cached = { at: this.d.now(), directory };
    return directory;
  }
}
