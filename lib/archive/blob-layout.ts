/**
 * Where archived items live and what their metadata says. Paths: `yyyy/mm/dd/<conversationId>/<version>.eml`
 * (UTC conversation start day): a changed conversation gets a new version beside the old one, never over it.
 * Azure metadata values must be ASCII, so free text is percent-encoded (decodeURIComponent reverses it).
 */
import { z } from 'zod';

export function itemPaths(conversationId: string, startTime: Date, version: string) {
  const day = startTime.toISOString().slice(0, 10).replaceAll('-', '/');
  // Conversation IDs are UUID-like; encode anything else so the path stays one segment per field.
  const dir = `${day}/${encodeURIComponent(conversationId)}/${version}`;
  return { eml: `${dir}.eml`, json: `${dir}.json` };
}

/** The status table partitions by this: conversation start day, UTC. */
export function startDay(startTime: Date | number): string {
  return new Date(startTime).toISOString().slice(0, 10);
}

const ascii = (s: string) => encodeURIComponent(s);
const unascii = (s: string | undefined) => {
  if (s === undefined) return undefined;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

// Azure allows 8 KiB of metadata in total; addresses are capped well below it and the .json beside the
// .eml holds the full list.
const ADDRESS_BUDGET = 4096;

export interface ItemFacts {
  conversationId: string;
  accountId: string;
  version: string;
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
  return {
    conversationid: ascii(f.conversationId),
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
  })
  .loose();
export type ArchivedBlobMetadata = z.infer<typeof ArchivedBlobMetadataSchema>;
