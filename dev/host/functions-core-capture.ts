import http from 'node:http';
import Module from 'node:module';

/** One function as the Azure Functions host would receive it: its metadata (bindings) and its handler. */
export interface CapturedFunction {
  metadata: {
    name: string;
    bindings: Record<string, { type: string; direction: string; [key: string]: unknown }>;
    [key: string]: unknown;
  };
  // The worker's core callback: (context, ...inputs) => result. Typed loosely because it is the host's ABI.
  handler: (...args: unknown[]) => unknown;
}

/**
 * The library's programming model (`@azure/functions` hands it to the worker through `setProgrammingModel`).
 * The local host drives every invocation through it, exactly as the Node worker does, so the library's own
 * conversions (typed data, HttpRequest/HttpResponse, extraOutputs, `$return`) run as in Azure.
 */
export interface CoreProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(coreCtx: unknown): {
    getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
    invokeFunction(
      context: unknown,
      inputs: unknown[],
      handler: (...args: unknown[]) => unknown,
    ): Promise<unknown>;
    getResponse(context: unknown, result: unknown): Promise<unknown>;
  };
  getCapabilities(workerCapabilities: Record<string, string>): Promise<Record<string, string>>;
}

const registry = new Map<string, CapturedFunction>();
type HookCallback = (coreContext: { hookData: Record<string, unknown>; [key: string]: unknown }) => unknown;
const hooks = new Map<string, HookCallback[]>();
let appStarted: Promise<void> | undefined;
let installed = false;
let model: CoreProgrammingModel | undefined;
let capabilities: Promise<Record<string, string>> | undefined;

/**
 * Serves a stand-in for `@azure/functions-core`, the module the Functions Node worker injects, so that
 * `app.timer/storageQueue/...` register for real instead of falling into the library's "test mode" (which
 * drops registrations). The metadata captured is exactly what the host would be given.
 */
export function installFunctionsCoreCapture(): Map<string, CapturedFunction> {
  if (installed) return registry;
  installed = true;
  const fakeCore = {
    version: '3.10.1',
    registerFunction(metadata: CapturedFunction['metadata'], handler: CapturedFunction['handler']) {
      if (registry.has(metadata.name))
        throw new Error(`A function named "${metadata.name}" is already registered`);
      registry.set(metadata.name, { metadata, handler });
      return { dispose: () => registry.delete(metadata.name) };
    },
    setProgrammingModel(m: CoreProgrammingModel) {
      model = m;
    },
    getProgrammingModel() {
      return model;
    },
    registerHook(hookName: string, callback: HookCallback) {
      const list = hooks.get(hookName) ?? [];
      list.push(callback);
      hooks.set(hookName, list);
      return { dispose: () => list.splice(list.indexOf(callback), 1) };
    },
    log() {},
  };
  const mod = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
  const original = mod._load;
  mod._load = function load(this: unknown, request: string, ...rest: unknown[]) {
    if (request === '@azure/functions-core') return fakeCore;
    return original.call(this, request, ...rest);
  };
  return registry;
}

/**
 * Runs the app's `app.hook.appStart` handlers once per process, as the worker does when it loads the app
 * (the app validates its settings there, so a misconfigured app fails at start, not on first use).
 */
export function runAppStartHooks(functionAppDirectory: string): Promise<void> {
  appStarted ??= (async () => {
    for (const hook of hooks.get('appStart') ?? []) await hook({ hookData: {}, functionAppDirectory });
  })();
  return appStarted;
}

export function capturedFunctions(): Map<string, CapturedFunction> {
  return registry;
}

/** The programming model the library registered, once any `app.*` call has run. */
export function capturedProgrammingModel(): CoreProgrammingModel | undefined {
  return model;
}

/**
 * The worker asks the programming model for its capabilities once, after the app is loaded (this locks
 * `app.setup` and, with `enableHttpStream`, starts the library's HTTP proxy and returns its `HttpUri`).
 * Memoised because the process has one worker, however many local hosts a test starts.
 */
export function workerCapabilities(): Promise<Record<string, string>> {
  const m = model;
  if (!m) return Promise.resolve({});
  capabilities ??= onLoopback(() => m.getCapabilities({})).then((c) =>
    // The proxy now listens on 127.0.0.1 only; "localhost" may resolve to ::1 first.
    c.HttpUri ? { ...c, HttpUri: c.HttpUri.replace('//localhost:', '//127.0.0.1:') } : c,
  );
  return capabilities;
}

/**
 * Runs `start` so that an HTTP server it creates and starts listening without a host binds 127.0.0.1
 * instead of every interface. The library's HTTP stream proxy calls `server.listen(cb)` (all interfaces);
 * the local host must expose nothing beyond loopback, and node_modules stays untouched.
 */
async function onLoopback<T>(start: () => Promise<T>): Promise<T> {
  const original = http.createServer;
  const patched = (...args: unknown[]) => {
    const server = (original as (...a: unknown[]) => http.Server)(...args);
    const listen = server.listen;
    server.listen = ((...a: unknown[]) => listen.apply(server, loopbackArgs(a) as never)) as typeof listen;
    return server;
  };
  http.createServer = patched as typeof http.createServer;
  try {
    return await start();
  } finally {
    http.createServer = original;
  }
}

/** `listen` arguments with host 127.0.0.1 where none was given (a path or an explicit host is kept). */
export function loopbackArgs(args: unknown[]): unknown[] {
  const [first, second] = args;
  if (args.length === 0 || typeof first === 'function') return [0, '127.0.0.1', ...args];
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first)))
    return typeof second === 'string' ? args : [first, '127.0.0.1', ...args.slice(1)];
  if (first && typeof first === 'object' && !('host' in first) && !('path' in first))
    return [{ ...first, host: '127.0.0.1' }, ...args.slice(1)];
  return args;
}
