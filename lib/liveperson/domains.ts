/**
 * Domain discovery (CSDS): one unauthenticated call returns every service's host; cached with a TTL
 * because LivePerson may move them. Each answer passes the host policy before anyone uses it.
 */
import { z } from 'zod';
import { LivePersonError } from './errors.js';
import { baseUrlOf } from './host-policy.js';
import type { HttpCore } from './http.js';

export type ServiceName = 'msgHist' | 'accountConfigReadOnly' | 'sentinel' | 'fms' | 'engHistDomain';

const AllServicesSchema = z.looseObject({
  baseURIs: z.array(z.looseObject({ service: z.string(), baseURI: z.string() })),
});
const OneServiceSchema = z.looseObject({ service: z.string().optional(), baseURI: z.string() });

const CSDS_TTL_MS = 10 * 60_000;

export class DomainResolver {
  private cache: { at: number; hosts: Map<string, string> } | undefined;
  private inflight: Promise<Map<string, string>> | undefined;
  private readonly csds: URL;

  constructor(
    private readonly http: HttpCore,
    csdsUrl: string,
    private readonly accountId: string,
    private readonly allowedHosts: readonly string[],
    private readonly now: () => number = Date.now,
  ) {
    this.csds = new URL(csdsUrl);
  }

  async baseUrl(service: ServiceName, signal?: AbortSignal): Promise<URL> {
    const hosts = await this.all(signal);
    let uri = hosts.get(service);
    if (uri === undefined) {
      // Some deployments answer only per-service lookups; ask for this one service.
      const url = this.url(
        `/api/account/${encodeURIComponent(this.accountId)}/service/${service}/baseURI.json`,
      );
      const one = await this.http.json(
        { endpoint: 'csds', describe: `CSDS lookup of ${service}`, method: 'GET', url, signal },
        OneServiceSchema,
      );
      uri = one.baseURI;
      hosts.set(service, uri);
    }
    if (!uri) throw new LivePersonError(`CSDS has no domain for service '${service}'`, 'csds');
    return baseUrlOf(uri, this.allowedHosts, this.csds.protocol, service);
  }

  private url(path: string): URL {
    const u = new URL(this.csds.href.replace(/\/$/, '') + path);
    u.searchParams.set('version', '1.0');
    return u;
  }

  private async all(signal?: AbortSignal): Promise<Map<string, string>> {
    if (this.cache && this.now() - this.cache.at < CSDS_TTL_MS) return this.cache.hosts;
    this.inflight ??= (async () => {
      const url = this.url(`/api/account/${encodeURIComponent(this.accountId)}/service/baseURI.json`);
      const req = { endpoint: 'csds', describe: 'CSDS domain lookup', method: 'GET' as const, url, signal };
      const res = await this.http.send({ ...req, passStatuses: [404] });
      const hosts = new Map<string, string>();
      if (res.status === 404) await res.body?.cancel();
      else {
        const parsed = await this.http.parse(res, req, AllServicesSchema);
        for (const b of parsed.baseURIs) hosts.set(b.service, b.baseURI);
      }
      this.cache = { at: this.now(), hosts };
      return hosts;
    })().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }
}
