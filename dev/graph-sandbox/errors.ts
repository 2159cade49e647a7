/**
 * Graph's error shape and the errors the sandbox answers with. Every Graph error body is
 * `{ error: { code, message, innerError: { date, request-id, client-request-id } } }`.
 */
export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    /** Extra top-level members of the body (e.g. nextExpectedRanges on a 416). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export interface RequestIds {
  requestId: string;
  clientRequestId: string;
}

export function graphErrorBody(
  ids: RequestIds,
  code: string,
  message: string,
  extra: Record<string, unknown> = {},
) {
  return {
    error: {
      code,
      message,
      innerError: {
        date: new Date().toISOString().slice(0, 19),
        'request-id': ids.requestId,
        'client-request-id': ids.clientRequestId,
      },
    },
    ...extra,
  };
}

export const badRequest = (code: string, message: string) => new GraphError(400, code, message);

export const tooLarge = () =>
  new GraphError(413, 'RequestEntityTooLarge', 'The maximum request length supported is 4MB.');
