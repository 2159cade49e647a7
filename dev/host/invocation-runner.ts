import { randomUUID } from 'node:crypto';
import { type BindingContext, prepareBindings, readInputs, writeOutputs } from './bindings-io.js';
import type { CapturedFunction } from './functions-core-capture.js';
import {
  type InvocationRequest,
  type InvocationResponse,
  invokeFunction,
  type RpcTypedData,
} from './invoke.js';

export interface InvocationRecord {
  functionName: string;
  ok: boolean;
  error?: string;
  durationMs: number;
  dequeueCount?: number;
}

export interface TriggerInput {
  /** Why the host runs the function, as in the host's "Executing" line (Timer fired, New queue message, ...). */
  reason: string;
  inputData: { name: string; data: RpcTypedData }[];
  triggerMetadata: Record<string, RpcTypedData>;
  /** Values `{prop}` expressions in output binding paths resolve against. */
  bindingData: Record<string, unknown>;
  dequeueCount?: number;
  retryContext?: InvocationRequest['retryContext'];
  invocationId?: string;
}

/**
 * Runs invocations the way the host does around the worker call: binds inputs, invokes, writes outputs
 * (an output that cannot be written fails the invocation, as in the host), logs the Executing/Executed
 * lines and keeps a record of each invocation. Tracks in-flight work so stop() and idle() can wait on it.
 */
export class InvocationRunner {
  readonly records: InvocationRecord[] = [];
  readonly #inFlight = new Map<Promise<unknown>, string>();
  readonly #ctx: BindingContext;
  readonly #listeners = new Set<() => void>();

  constructor(ctx: BindingContext) {
    this.#ctx = ctx;
  }

  get inFlightCount(): number {
    return this.#inFlight.size;
  }

  /** The functions running now, by name (what idle() reports when the host does not settle). */
  get inFlightNames(): string[] {
    return [...this.#inFlight.values()];
  }

  /** Called every time an invocation settles (queue listeners use it to fetch the next batch). */
  onSettled(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async drain(): Promise<void> {
    while (this.#inFlight.size) await Promise.allSettled([...this.#inFlight.keys()]);
  }

  /** A trigger that could not even be bound (e.g. an undecodable message) counts as a failed invocation. */
  recordBindingFailure(fn: CapturedFunction, error: Error, dequeueCount?: number): void {
    this.records.push({
      functionName: fn.metadata.name,
      ok: false,
      error: error.message,
      durationMs: 0,
      ...(dequeueCount !== undefined ? { dequeueCount } : {}),
    });
    this.#ctx.logger.error(`Executed 'Functions.${fn.metadata.name}' (Failed, binding)`, {
      function: fn.metadata.name,
      error: error.message,
    });
  }

  run(fn: CapturedFunction, trigger: TriggerInput): Promise<InvocationResponse> {
    const promise = this.#run(fn, trigger);
    this.#inFlight.set(promise, fn.metadata.name);
    const settle = () => {
      this.#inFlight.delete(promise);
      for (const l of this.#listeners) l();
    };
    promise.then(settle, settle);
    return promise;
  }

  async #run(fn: CapturedFunction, trigger: TriggerInput): Promise<InvocationResponse> {
    const name = fn.metadata.name;
    const invocationId = trigger.invocationId ?? randomUUID();
    const { logger, config } = this.#ctx;
    const started = performance.now();
    logger.debug(`Executing 'Functions.${name}' (Reason='${trigger.reason}', Id=${invocationId})`);
    const record = (ok: boolean, error?: string) => {
      const durationMs = Math.round(performance.now() - started);
      this.records.push({
        functionName: name,
        ok,
        durationMs,
        ...(error !== undefined ? { error } : {}),
        ...(trigger.dequeueCount !== undefined ? { dequeueCount: trigger.dequeueCount } : {}),
      });
      return durationMs;
    };
    try {
      const outputs = prepareBindings(fn, 'out', trigger.bindingData, this.#ctx);
      const inputs = prepareBindings(fn, 'in', trigger.bindingData, this.#ctx);
      const extraInputs = await readInputs(fn, inputs, this.#ctx);
      const response = await invokeFunction(
        fn,
        {
          invocationId,
          inputData: [...trigger.inputData, ...extraInputs],
          triggerMetadata: trigger.triggerMetadata,
          ...(trigger.retryContext ? { retryContext: trigger.retryContext } : {}),
        },
        { logger, timeoutMs: config.functionTimeoutMs },
      );
      await writeOutputs(fn, outputs, response, this.#ctx);
      const ms = record(true);
      logger.debug(`Executed 'Functions.${name}' (Succeeded, Id=${invocationId}, Duration=${ms}ms)`);
      return response;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const ms = record(false, message);
      logger.error(`Executed 'Functions.${name}' (Failed, Id=${invocationId}, Duration=${ms}ms)`, {
        function: name,
        invocationId,
        error: message,
      });
      throw err;
    }
  }
}
