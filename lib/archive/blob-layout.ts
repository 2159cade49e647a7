/**
 * Where archived items live and what their metadata says. Paths:
 * `yyyy/mm/dd/<safeKey(conversationId)>/<itemKey>.eml` (UTC conversation start day; itemKey = the content
 * version, or `<version>.partial-<h>` for an item missing files): a changed conversation gets a new
 * version beside the old one, and a complete item is stored beside a partial one, never over it.
 * Azure metadata values must be ASCII, so free text is percent-encoded (decodeURIComponent reverses it);
 * a lone surrogate, which percent-encoding cannot carry, is written `%uD800` (no `%u` is ever produced
 * otherwise, since `%` itself is encoded).
 */
import { z } from 'zod';
import { safeKey } from '../ids.js';

export function itemPaths(conversationId: string, startTime: Date, itemKey: string) {
  const day = startTime.toISOString().slice(0, 10).replaceAll('-', '/');
  // safeKey: a plain ID as it is; anything else (`.`, `..`, `/`, whitespace, over 120 chars) as a hash,
  // so one conversation is always exactly one path segment. The ID itself is in the metadata.
  const dir = `${day}/${safeKey(conversationId)}/${itemKey}`;
  return { eml: `${dir}.eml`, json: `${dir}.json` };
}

/** The status table partitions by this: conversation start day, UTC. */
export function startDay(startTime: Date | number): string {
  return new Date(startTime).toISOString().slice(0, 10);
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const ascii = (s: string) => {
  if (!LONE_SURROGATE.test(s)) return encodeURIComponent(s);
  let out = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    out +=
      ch.length === 1 && c >= 0xd800 && c <= 0xdfff
        ? `%u${c.toString(16).toUpperCase()}`
        : encodeURIComponent(ch);
  }
  return out;
};
const unascii = (s: string | undefined) => {
  if (s === undefined) return undefined;
  try {
    return s
      .split(/(%u[0-9A-F]{4})/)
      .map((p) =>
        /^%u[0-9A-F]{4}$/.test(p)
          ? String.fromCharCode(Number.parseInt(p.slice(2), 16))
          : decodeURIComponent(p),
      )
      .join('');
  } catch {
    return s;
  }
};

// Azure allows 8 KiB of metadata in total; addresses and delivery candidates are capped well below it
// (the .json beside the .eml holds the full record). A conversation with more participants than fit is
// flagged `candidatesoverflow`, and delivery then reads the item's participants sidecar.
const ADDRESS_BUDGET = 1500;
const CANDIDATE_BUDGET = 5000;

/** `role:id:login:address`, each field percent-encoded (so `:` and `,` never clash). */
export function encodeCandidate(c: DeliveryCandidate): string {
  return [c.role, c.id, c.loginName ?? '', c.address ?? ''].map(ascii).join(':');
}

export function decodeCandidate(s: string): DeliveryCandidate | undefined {
  const f = s.split(':').map((x) => unascii(x) ?? x);
  if (f.length !== 4 || !f[0]) return undefined;
  return {
    role: f[0],
    id: f[1] ?? '',
    ...(f[2] ? { loginName: f[2] } : {}),
    ...(f[3] ? { address: f[3] } : {}),
  };
}

/** The participants worth considering for delivery: anyone with a real address or a LivePerson login. */
export function deliveryCandidates(f: Pick<ItemFacts, 'participants'>): DeliveryCandidate[] {
  return (f.participants ?? [])
    .filter((p) => !p.synthetic || p.role !== 'CONSUMER')
    .map((p) => ({
      role: p.role,
      id: p.id,
      ...(p.loginName ? { loginName: p.loginName } : {}),
      ...(p.synthetic ? {} : { address: p.address }),
    }));
}

/** A participant as delivery needs it: who they are at LivePerson and their real address, if any. */
export const DeliveryCandidateSchema = z.object({
  id: z.string(),
  /** CONSUMER, AGENT, MANAGER, BOT, … */
  role: z.string(),
  loginName: z.string().optional(),
  /** The participant's real address (absent for synthetic ones). */
  address: z.string().optional(),
});
export type DeliveryCandidate = z.infer<typeof DeliveryCandidateSchema>;

export interface ItemFacts {
  conversationId: string;
  accountId: string;
  version: string;
  /** The item's storage identity (version, or version + partial suffix); defaults to the version. */
  itemKey?: string | undefined;
  /** W3C trace context carried from discovery (telemetry). */
  traceparent?: string | undefined;
  participants?:
    | { id: string; role: string; loginName?: string | undefined; address: string; synthetic: boolean }[]
    | undefined;
  messageId: string;
  status: 'OPEN' | 'CLOSE';
  startTime: Date;
  endTime?: Date | undefined;
  addresses: string[];
  counts: { messages: number; files: number; filesAttached: number; participants: number };
  partialReasons: string[];
}

export function toBlobMetadata(f: ItemFacts): Record<string, string> {
  let addresses = '';
  let truncated = false;
  for (const a of f.addresses) {
    const next = addresses ? `${addresses},${ascii(a)}` : ascii(a);
    if (next.length > ADDRESS_BUDGET) {
      truncated = true;
      break;
    }
    addresses = next;
  }
  let candidates = '';
  let overflow = false;
  for (const c of deliveryCandidates(f)) {
    const e = encodeCandidate(c);
    const next = candidates ? `${candidates},${e}` : e;
    if (next.length > CANDIDATE_BUDGET) {
      overflow = true;
      break;
    }
    candidates = next;
  }
  return {
    conversationid: ascii(f.conversationId),
    itemkey: f.itemKey ?? f.version,
    ...(f.traceparent && /^[0-9a-f-]{55}$/.test(f.traceparent) ? { traceparent: f.traceparent } : {}),
    candidates,
    ...(overflow ? { candidatesoverflow: 'true' } : {}),
    accountid: ascii(f.accountId),
    version: f.version,
    messageid: ascii(f.messageId),
    conversationstatus: f.status,
    starttime: f.startTime.toISOString(),
    ...(f.endTime ? { endtime: f.endTime.toISOString() } : {}),
    addresses,
    ...(truncated ? { addressestruncated: 'true' } : {}),
    messages: String(f.counts.messages),
    files: String(f.counts.files),
    filesattached: String(f.counts.filesAttached),
    participants: String(f.counts.participants),
    partialreasons: f.partialReasons.map(ascii).join(','),
  };
}

const count = z.coerce.number().int().nonnegative();
/** Metadata as read back (keys lower-cased by the service); validated so a foreign blob is reported, not trusted. */
export const ArchivedBlobMetadataSchema = z
  .object({
    conversationid: z
      .string()
      .min(1)
      .transform((s) => unascii(s) ?? s),
    accountid: z.string().optional().transform(unascii),
    version: z.string().min(1),
    itemkey: z.string().optional(),
    traceparent: z.string().optional(),
    candidates: z
      .string()
      .optional()
      .transform((s) =>
        s
          ? s.split(',').flatMap((e) => {
              const c = decodeCandidate(e);
              return c ? [c] : [];
            })
          : [],
      ),
    candidatesoverflow: z.string().optional(),
    messageid: z.string().optional().transform(unascii),
    conversationstatus: z.enum(['OPEN', 'CLOSE']).optional(),
    starttime: z.iso.datetime(),
    endtime: z.iso.datetime().optional(),
    addresses: z
      .string()
      .optional()
      .transform((s) => (s ? s.split(',').map((a) => unascii(a) ?? a) : [])),
    addressestruncated: z.string().optional(),
    messages: count,
    files: count,
    filesattached: count,
    participants: count,
    partialreasons: z
      .string()
      .optional()
      .transform((s) => (s ? s.split(',').map((a) => unascii(a) ?? a) : [])),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    size: count.optional(),
    attempts: count.optional(),
  })
  .loose();
export type ArchivedBlobMetadata = z.infer<typeof ArchivedBlobMetadataSchema>;
