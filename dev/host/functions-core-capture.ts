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

const registry = new Map<string, CapturedFunction>();
let installed = false;

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
    setProgrammingModel() {},
    getProgrammingModel() {},
    registerHook() {
      return { dispose() {} };
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

export function capturedFunctions(): Map<string, CapturedFunction> {
  return registry;
}
