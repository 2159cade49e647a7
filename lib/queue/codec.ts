/**
 * Queue message bodies the app sends itself, matching host.json `extensions.queues.messageEncoding`
 * (the Functions host decodes bodies with it before a queue trigger sees them), and tolerant parsing of
 * what a trigger receives: the host hands over a parsed object for JSON bodies and a string otherwise.
 */
export const QUEUE_MESSAGE_ENCODING: 'base64' | 'none' = 'none';

/** JSON with every character outside printable ASCII escaped: safe in XML, identical after parsing. */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export function encodeQueueJson(value: unknown): string {
  const json = asciiJson(value);
  return QUEUE_MESSAGE_ENCODING === 'base64' ? Buffer.from(json, 'utf8').toString('base64') : json;
}

/** The trigger's payload as a plain value: JSON text parsed, anything else returned as it is. */
export function queuePayload(body: unknown): unknown {
  if (typeof body !== 'string') return body;
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}
