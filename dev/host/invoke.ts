import type { Logger } from '../../lib/log.js';
import { type CapturedFunction, capturedProgrammingModel } from './functions-core-capture.js';

/** The worker RPC's typed data (azure-functions-language-worker-protobuf `TypedData`), the subset used here. */
export interface RpcTypedData {
  string?: string | null;
  json?: string | null;
  bytes?: Uint8Array | null;
  stream?: Uint8Array | null;
  http?: RpcHttpData | null;
  int?: number | null;
  double?: number | null;
}

export interface RpcHttpData {
  method?: string | null;
  url?: string | null;
  headers?: Record<string, string> | null;
  body?: RpcTypedData | null;
  params?: Record<string, string> | null;
  query?: Record<string, string> | null;
  statusCode?: string | null;
  cookies?: unknown[] | null;
}

export interface InvocationRequest {
  invocationId: string;
  inputData: { name: string; data: RpcTypedData }[];
  triggerMetadata: Record<string, RpcTypedData>;
  retryContext?: { retryCount: number; maxRetryCount: number; exception?: { message?: string } };
}

export interface InvocationResponse {
  returnValue: RpcTypedData | null | undefined;
  outputData: Map<string, RpcTypedData>;
}

/** Turns a value the host holds into RPC typed data, the way the host serialises binding data. */
export function toTypedData(value: unknown): RpcTypedData {
  if (typeof value === 'string') return { string: value };
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return { bytes: value };
  if (typeof value === 'number') return Number.isInteger(value) ? { int: value } : { double: value };
  return { json: JSON.stringify(value) };
}

/** The host's view of an output value: string, bytes, parsed JSON or number. */
export function fromTypedData(data: RpcTypedData | null | undefined): unknown {
  if (!data) return undefined;
  if (data.string !== undefined && data.string !== null) return data.string;
  if (data.json !== undefined && data.json !== null) return JSON.parse(data.json);
  if (data.bytes) return Buffer.from(data.bytes);
  if (data.stream) return Buffer.from(data.stream);
  if (data.int !== undefined && data.int !== null) return data.int;
  if (data.double !== undefined && data.double !== null) return data.double;
  return undefined;
}

export class FunctionTimeoutError extends Error {}

const LOG_LEVELS: Record<string, keyof Logger> = {
  trace: 'debug',
  debug: 'debug',
  information: 'info',
  warning: 'warn',
  error: 'error',
  critical: 'error',
};

/**
 * Runs one invocation exactly as the Node worker does: the library's InvocationModel builds the
 * InvocationContext and inputs from the RPC request (getArguments), calls the handler (invokeFunction) and
 * converts `$return` and extraOutputs back to RPC typed data (getResponse). Rejects with the handler's
 * error, or with FunctionTimeoutError after `timeoutMs` (the host then abandons the invocation).
 */
export async function invokeFunction(
  fn: CapturedFunction,
  request: InvocationRequest,
  opts: { logger: Logger; timeoutMs: number },
): Promise<InvocationResponse> {
  const model = capturedProgrammingModel();
  if (!model)
    throw new Error('@azure/functions has not registered its programming model (no app.* call ran)');
  const name = fn.metadata.name;
  const coreCtx = {
    invocationId: request.invocationId,
    metadata: fn.metadata,
    request: {
      invocationId: request.invocationId,
      functionId: name,
      inputData: request.inputData,
      triggerMetadata: request.triggerMetadata,
      retryContext: request.retryContext,
    },
    state: undefined as string | undefined,
    log(level: string, category: string, message: string) {
      const method = LOG_LEVELS[level] ?? 'info';
      opts.logger[method](message, {
        function: name,
        invocationId: request.invocationId,
        ...(category === 'system' ? { category } : {}),
      });
    },
  };
  const invocation = model.getInvocationModel(coreCtx);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new FunctionTimeoutError(
            `Timeout value of ${formatTimeSpan(opts.timeoutMs)} was exceeded by function: Functions.${name}`,
          ),
        ),
      opts.timeoutMs,
    );
  });
  try {
    const run = async () => {
      const { context, inputs } = await invocation.getArguments();
      coreCtx.state = 'invocation';
      const result = await invocation.invokeFunction(context, inputs, fn.handler);
      coreCtx.state = undefined;
      return (await invocation.getResponse(context, result)) as {
        returnValue?: RpcTypedData | null;
        outputData?: { name: string; data: RpcTypedData }[];
      };
    };
    const response = await Promise.race([run(), timeout]);
    return {
      returnValue: response.returnValue,
      outputData: new Map((response.outputData ?? []).map((o) => [o.name, o.data])),
    };
  } finally {
    clearTimeout(timer);
  }
}

function formatTimeSpan(ms: number): string {
  const s = Math.floor(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
}
