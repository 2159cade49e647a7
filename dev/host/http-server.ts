import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../../lib/log.js';
import type { CapturedFunction } from './functions-core-capture.js';
import { compileRoute, type RouteMatcher } from './http-routes.js';
import type { InvocationRunner } from './invocation-runner.js';
import type { RpcHttpData, RpcTypedData } from './invoke.js';

interface HttpFunction {
  fn: CapturedFunction;
  bindingName: string;
  methods: string[];
  route: RouteMatcher;
}

export interface HttpHostOptions {
  functions: CapturedFunction[];
  routePrefix: string;
  port: number;
  runner: InvocationRunner;
  logger: Logger;
  /** The library's HTTP proxy (`app.setup({ enableHttpStream: true })`), from the worker capabilities. */
  streamProxyUri?: string | undefined;
}

/**
 * The host's HTTP front end: routes `/<routePrefix>/<route>` to the HTTP-triggered function.
 * Without `enableHttpStream` the request and response travel as RPC typed data (the response body is
 * buffered by the library, as in Azure); with it, the request is proxied to the library's own HTTP server
 * and the streamed response is piped back, exactly like the real host does.
 *
 * Like `func start`, function keys are NOT enforced locally: `authLevel: 'function'` is accepted without
 * a `code`. Azure enforces it; the local host only listens on loopback.
 */
export async function startHttpServer(
  opts: HttpHostOptions,
): Promise<{ url: string; close(): Promise<void> }> {
  const routes: HttpFunction[] = [];
  for (const fn of opts.functions) {
    const entry = Object.entries(fn.metadata.bindings).find(([, b]) => b.type === 'httpTrigger');
    if (!entry) continue;
    const [bindingName, binding] = entry;
    const methods = (Array.isArray(binding.methods) ? (binding.methods as string[]) : ['GET', 'POST']).map(
      (m) => m.toUpperCase(),
    );
    const template = typeof binding.route === 'string' && binding.route ? binding.route : fn.metadata.name;
    routes.push({ fn, bindingName, methods, route: compileRoute(template) });
  }
  const prefix = opts.routePrefix ? `/${opts.routePrefix}` : '';

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      opts.logger.error('http: request failed', { url: req.url, error: err.message });
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
    const method = (req.method ?? 'GET').toUpperCase();
    if (url.pathname === '/' || url.pathname === '') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(
        `liveperson-archiver local Functions host\n\n${routes
          .map((r) => `${r.methods.join(',')} ${prefix}/${r.route.template}  (${r.fn.metadata.name})`)
          .join('\n')}\n`,
      );
      return;
    }
    const below =
      prefix && url.pathname.toLowerCase().startsWith(`${prefix.toLowerCase()}/`)
        ? url.pathname.slice(prefix.length)
        : prefix
          ? undefined
          : url.pathname;
    let target: { r: HttpFunction; params: Record<string, string> } | undefined;
    if (below !== undefined) {
      for (const r of routes) {
        const params = r.route.match(below);
        // A method the function does not accept is a 404, as in the Functions host (not a 405).
        if (params && r.methods.includes(method)) {
          target = { r, params };
          break;
        }
      }
    }
    if (!target) {
      res.writeHead(404);
      res.end();
      return;
    }
    const { r, params } = target;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = [v].flat().join(', ');
    const query = Object.fromEntries(url.searchParams);
    const triggerMetadata: Record<string, RpcTypedData> = {
      Query: { json: JSON.stringify(query) },
      Headers: { json: JSON.stringify(headers) },
      ...Object.fromEntries(Object.entries(params).map(([k, v]) => [k, { string: v }])),
    };
    const bindingData = { ...query, ...params, Query: query, Headers: headers };
    const invocationId = randomUUID();

    if (opts.streamProxyUri) {
      await proxyToWorker(req, res, url, invocationId, r, triggerMetadata, bindingData);
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const data: RpcHttpData = {
      method,
      url: url.toString(),
      headers,
      query,
      params,
      body: { bytes: Buffer.concat(chunks) },
    };
    const response = await opts.runner
      .run(r.fn, {
        invocationId,
        reason: `This function was programmatically called via the host APIs.`,
        inputData: [{ name: r.bindingName, data: { http: data } }],
        triggerMetadata,
        bindingData,
      })
      .catch(() => undefined);
    if (!response) {
      // The host answers an unhandled exception with a bare 500 (details go to the log, not the client).
      res.writeHead(500);
      res.end();
      return;
    }
    const httpOut = Object.entries(r.fn.metadata.bindings).find(
      ([, b]) => b.type === 'http' && b.direction === 'out',
    );
    const out =
      httpOut?.[0] === '$return' || !httpOut
        ? response.returnValue?.http
        : response.outputData.get(httpOut[0])?.http;
    if (!out) {
      res.writeHead(204);
      res.end();
      return;
    }
    for (const [k, v] of Object.entries(out.headers ?? {})) res.setHeader(k, v);
    res.writeHead(Number(out.statusCode ?? 200));
    const body = out.body;
    if (body?.bytes) res.end(Buffer.from(body.bytes));
    else if (body?.string) res.end(body.string);
    else res.end();
  }

  async function proxyToWorker(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    invocationId: string,
    r: HttpFunction,
    triggerMetadata: Record<string, RpcTypedData>,
    bindingData: Record<string, unknown>,
  ) {
    const invocation = opts.runner.run(r.fn, {
      invocationId,
      reason: `This function was programmatically called via the host APIs.`,
      inputData: [{ name: r.bindingName, data: { http: {} } }],
      triggerMetadata,
      bindingData,
    });
    const target = new URL(`${url.pathname}${url.search}`, opts.streamProxyUri);
    let out: http.ClientRequest | undefined;
    const proxied = new Promise<http.IncomingMessage>((resolve, reject) => {
      out = http.request(target, {
        method: req.method,
        headers: {
          ...req.headers,
          'x-ms-invocation-id': invocationId,
          'x-forwarded-host': req.headers.host ?? url.host,
          'x-forwarded-proto': 'http',
        },
      });
      out.on('response', resolve);
      out.on('error', reject);
      pipeline(req, out).catch(reject);
    });
    // Whichever comes first: the streamed response, or a failed invocation (which never responds).
    const first = await Promise.race([
      proxied.then((p) => ({ p })),
      invocation.then(
        () => proxied.then((p) => ({ p })),
        () => ({ p: undefined }),
      ),
    ]);
    if (!first.p) {
      out?.destroy();
      proxied.catch(() => {});
      res.writeHead(500);
      res.end();
      return;
    }
    res.writeHead(first.p.statusCode ?? 200, first.p.headers);
    await pipeline(first.p, res);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(
              `port ${opts.port} is already in use (another host running?); set PORT to use another one`,
            )
          : err,
      ),
    );
    server.listen(opts.port, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
