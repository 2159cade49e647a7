/**
 * One trace per conversation, from discovery to the mailbox: discovery starts it, and its W3C
 * `traceparent` travels in every queue message and in the item's blob metadata; each stage runs in a
 * span that continues it. Application Insights shows them as one operation (operation_Id = trace id).
 * Without a tracer provider, spans are no-ops and a random traceparent still links the stages' logs.
 */
import { randomBytes } from 'node:crypto';
import { context, type Span, SpanStatusCode, TraceFlags, trace } from '@opentelemetry/api';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

function tracer() {
  return trace.getTracer('lparchiver');
}

export function formatTraceparent(traceId: string, spanId: string, flags: number): string {
  return `00-${traceId}-${spanId}-${flags.toString(16).padStart(2, '0')}`;
}

function parentContext(traceparent: string | undefined) {
  const m = traceparent ? TRACEPARENT.exec(traceparent) : null;
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return context.active();
  return trace.setSpanContext(context.active(), {
    traceId: m[1]!,
    spanId: m[2]!,
    traceFlags: Number.parseInt(m[3]!, 16),
    isRemote: true,
  });
}

function traceparentOf(span: Span): string | undefined {
  const c = span.spanContext();
  if (!trace.isSpanContextValid(c)) return undefined;
  return formatTraceparent(c.traceId, c.spanId, c.traceFlags);
}

/** A new trace for one discovered conversation (a short span marks its discovery). */
export function startConversationTrace(conversationId: string): string {
  const span = tracer().startSpan('conversation discovered', {
    root: true,
    attributes: { 'lparchiver.conversation_id': conversationId },
  });
  span.end();
  return (
    traceparentOf(span) ??
    formatTraceparent(randomBytes(16).toString('hex'), randomBytes(8).toString('hex'), TraceFlags.SAMPLED)
  );
}

/**
 * Runs `fn` in a span continuing `traceparent`; `fn` gets the traceparent to hand on downstream (the new
 * span's, or the incoming one when tracing is off).
 */
export async function inSpan<T>(
  name: string,
  traceparent: string | undefined,
  attributes: Record<string, string | number | boolean>,
  fn: (downstream: string | undefined) => Promise<T>,
): Promise<T> {
  const span = tracer().startSpan(name, { attributes }, parentContext(traceparent));
  try {
    const result = await context.with(trace.setSpan(context.active(), span), () =>
      fn(traceparentOf(span) ?? traceparent),
    );
    span.setStatus({ code: SpanStatusCode.OK });
    return result;
  } catch (err) {
    span.recordException(err instanceof Error ? err : new Error(String(err)));
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
    throw err;
  } finally {
    span.end();
  }
}
