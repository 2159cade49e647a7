/**
 * One LivePerson conversation record → one RFC 5322 message (multipart/mixed: the transcript as
 * text/plain + text/html, the hosted files, and the complete source record as JSON). Deterministic: the
 * same record gives the same Message-ID, boundaries and bytes, so re-runs never create a second item.
 */
import type { Readable } from 'node:stream';
import MailComposer, { type MailComposerOptions } from 'nodemailer/lib/mail-composer';
import { encode as qpEncode, wrap as qpWrap } from 'nodemailer/lib/qp';
import type { z } from 'zod';
import { type ConversationRecord, ConversationRecordSchema, epochOf } from '../liveperson/record.js';
import type { UsersDirectory } from '../liveperson/users-schema.js';
import { collectFiles, type FileJob, FileNamer, type FileOutcome } from './attachments.js';
import type { HostedFileProvider } from './contract.js';
import { ParticipantIndex } from './participants.js';
import {
  clip,
  duration as fmtDuration,
  headerText,
  isValidDomain,
  normaliseText,
  safeToken,
  toCrlf,
  utc,
} from './text.js';
import {
  type MessagePart,
  renderHtml,
  renderText,
  type TranscriptMessage,
  type TranscriptModel,
} from './transcript.js';
import { messageParts, orderMessages, surveySections, transferLines } from './transcript-content.js';
import { contentVersion } from './version.js';

export { canonicalJson, contentVersion } from './version.js';

export interface ConvertOptions {
  users?: UsersDirectory;
  files?: HostedFileProvider;
  /** Domain of synthetic participant addresses. */
  addressDomain?: string;
  /** Right side of the Message-ID. */
  messageIdDomain?: string;
  /** Position of the record in its batch, used to name it in errors when it has no conversation id. */
  recordIndex?: number;
}

export interface ConversionResult {
  conversationId: string;
  accountId: string;
  /** sha256 hex of the record's canonical JSON (keys sorted), so a re-run gives the same value. */
  version: string;
  messageId: string;
  subject: string;
  from: { name: string; address: string };
  to: { name: string; address: string }[];
  addresses: string[];
  participants: { id: string; role: string; name: string; address: string; synthetic: boolean }[];
  startTime: Date;
  endTime?: Date;
  status: 'OPEN' | 'CLOSE';
  counts: { messages: number; files: number; filesAttached: number; participants: number };
  partialReasons: string[];
  sourceJson: Buffer;
  eml: Readable;
}

export class ConversionError extends Error {
  override readonly name = 'ConversionError';
  constructor(
    message: string,
    readonly field: string,
    readonly conversationId?: string,
    readonly recordIndex?: number,
  ) {
    super(message);
  }
}

export const DEFAULT_ADDRESS_DOMAIN = 'liveperson.invalid';
export const DEFAULT_MESSAGE_ID_DOMAIN = 'liveperson-archiver.invalid';

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(record)';
}

function recordLabel(id: string | undefined, index: number | undefined): string {
  if (id) return `conversation ${id}`;
  return index === undefined ? 'record without conversation id' : `record #${index} (no conversation id)`;
}

function validate(record: unknown, recordIndex: number | undefined): ConversationRecord {
  const parsed = ConversationRecordSchema.safeParse(record);
  if (parsed.success) return parsed.data;
  const rawId = (record as { info?: { conversationId?: unknown } } | null)?.info?.conversationId;
  const id =
    typeof rawId === 'string' || typeof rawId === 'number'
      ? headerText(String(rawId)) || undefined
      : undefined;
  const issue = parsed.error.issues[0] as z.core.$ZodIssue;
  const field = formatPath(issue.path);
  const detail = issue.message.replace(/^Invalid input: /, '');
  throw new ConversionError(`${recordLabel(id, recordIndex)}: ${field}: ${detail}`, field, id, recordIndex);
}

const HEADER_CASE: Record<string, string> = Object.fromEntries(
  [
    'X-LivePerson-Conversation-Id',
    'X-LivePerson-Account-Id',
    'X-LivePerson-Skill',
    'X-LivePerson-Channel',
    'X-LivePerson-Status',
    'X-LivePerson-Content-Version',
    'X-LivePerson-Partial',
  ].map((k) => [k.toLowerCase(), k]),
);

/** A conversion up to the MIME step: the result's fields and the MailComposer input that makes the .eml. */
export interface PlannedConversion {
  result: Omit<ConversionResult, 'eml'>;
  mail: MailComposerOptions;
}

/**
 * A text part as MailComposer would write it with `contentTransferEncoding: 'quoted-printable'`, byte for
 * byte (a test holds it to that), but encoded in one call to nodemailer's own QP functions instead of its
 * streaming QP encoder, which measured about twice the cost of the whole rest of the MIME step. The
 * headers are fixed strings; only the encoded body comes from the conversation.
 */
export function quotedPrintablePart(contentType: 'text/plain' | 'text/html', body: string): { raw: string } {
  return {
    raw: `Content-Type: ${contentType}; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${qpWrap(qpEncode(body), 76)}`,
  };
}

const normalizeHeaderKey = (key: string) => HEADER_CASE[key.toLowerCase()] ?? key;

export async function convertConversation(
  record: unknown,
  options: ConvertOptions = {},
): Promise<ConversionResult> {
  const { result, mail } = await planConversation(record, options);
  return { ...result, eml: new MailComposer(mail).compile().createReadStream() };
}

/**
 * Everything convertConversation does before MailComposer: validation, rendering and the composer's
 * options. Exported so the benchmark can time MailComposer alone on the very same parts.
 */
export async function planConversation(
  record: unknown,
  options: ConvertOptions = {},
): Promise<PlannedConversion> {
  const addressDomain = (options.addressDomain ?? DEFAULT_ADDRESS_DOMAIN).toLowerCase();
  const messageIdDomain = options.messageIdDomain ?? DEFAULT_MESSAGE_ID_DOMAIN;
  if (!isValidDomain(addressDomain)) throw new Error(`addressDomain is not a domain name: ${addressDomain}`);
  if (!isValidDomain(messageIdDomain))
    throw new Error(`messageIdDomain is not a domain name: ${messageIdDomain}`);

  const rec = validate(record, options.recordIndex);
  const info = rec.info;
  const conversationId = info.conversationId;
  const accountId = clip(info.brandId, 64) || 'unknown';
  const version = contentVersion(record);
  const startMs = epochOf(info.startTimeL, info.startTime) as number; // required by the schema
  const endMs = info.status?.toUpperCase() === 'OPEN' ? undefined : epochOf(info.endTimeL, info.endTime);
  const declared = info.status?.toUpperCase();
  const status: 'OPEN' | 'CLOSE' =
    declared === 'OPEN' || declared === 'CLOSE' ? declared : endMs === undefined ? 'OPEN' : 'CLOSE';

  const idx = new ParticipantIndex(rec, options.users, addressDomain);
  const dialogTypes = new Map((rec.dialogs ?? []).map((d) => [d.dialogId, d.dialogType?.toUpperCase()]));

  const jobs: FileJob[] = [];
  const fileParts = new Map<string, Extract<MessagePart, { kind: 'file' }>>();
  const messages: TranscriptMessage[] = orderMessages(rec.messageRecords ?? []).map((s, i) => {
    const key = `m${i}`;
    const parts = messageParts(s.rec, key, jobs, conversationId);
    for (const p of parts) if (p.kind === 'file') fileParts.set(key, p);
    const dialogType =
      s.rec.dialogId && s.rec.dialogId !== conversationId ? dialogTypes.get(s.rec.dialogId) : undefined;
    const msg: TranscriptMessage = {
      time: s.time,
      sender: idx.forMessage(s.rec.participantId, s.rec.sentBy),
      private: s.rec.audience?.toUpperCase() === 'AGENTS_AND_MANAGERS',
      parts,
    };
    if (dialogType === 'POST_SURVEY') msg.context = 'post-conversation survey';
    else if (dialogType && dialogType !== 'MAIN') msg.context = `${dialogType.toLowerCase()} dialog`;
    return msg;
  });

  const sourceName = `conversation-${safeToken(conversationId, 80)}.json`;
  const namer = new FileNamer();
  namer.reserve(sourceName);
  const files = await collectFiles(jobs, options.files, namer);
  for (const [key, part] of fileParts) part.outcome = files.outcomes.get(key) as FileOutcome;

  // Addressing: From = first sender (else the consumer, else the first participant); To = everyone else.
  const participants = idx.list;
  const fromP =
    messages[0]?.sender ??
    participants.find((p) => p.role === 'CONSUMER') ??
    participants[0] ??
    idx.forMessage(undefined, 'consumer');
  const addresses = [...new Set(participants.map((p) => p.address))];
  const toSeen = new Set<string>([fromP.address]);
  const to: { name: string; address: string }[] = [];
  for (const p of participants) {
    if (toSeen.has(p.address)) continue;
    toSeen.add(p.address);
    to.push({ name: p.name, address: p.address });
  }
  // A conversation with a single participant still needs an addressee: that participant.
  if (to.length === 0) to.push({ name: fromP.name, address: fromP.address });

  const consumer = participants.find((p) => p.role === 'CONSUMER');
  const skill = clip(info.latestSkillName, 120);
  const channel = [info.source, info.device, info.integration]
    .map((v) => clip(v, 60))
    .filter(Boolean)
    .join(' / ');
  const subject = [
    `LivePerson conversation with ${consumer?.name ?? fromP.name}`,
    skill,
    new Date(startMs).toISOString().slice(0, 10),
    status === 'OPEN' ? '(open)' : '',
  ]
    .filter(Boolean)
    .join(' · ')
    .replace(' · (open)', ' (open)');
  const messageId = `<lp.${safeToken(accountId, 40)}.${safeToken(conversationId, 80)}.${version.slice(0, 16)}@${messageIdDomain}>`;

  const partialReasons = [...files.reasons];
  if (info.isPartial) partialReasons.push('LivePerson marked the record as partial (info.isPartial)');

  const facts: [string, string][] = [
    ['Conversation', headerText(conversationId)],
    ['Account', headerText(accountId)],
    ['Status', status],
    ['Started', utc(startMs)],
    ['Ended', endMs !== undefined ? utc(endMs) : status === 'OPEN' ? 'still open' : 'unknown'],
  ];
  const durMs = info.duration ?? (endMs === undefined ? undefined : endMs - startMs);
  if (durMs !== undefined && durMs >= 0) facts.push(['Duration', fmtDuration(durMs)]);
  if (skill) facts.push(['Skill', skill]);
  if (channel) facts.push(['Channel', channel]);
  const closeReason = [info.closeReason, info.closeReasonDescription]
    .map(headerText)
    .filter(Boolean)
    .join(' / ');
  if (closeReason) facts.push(['Close reason', closeReason]);
  if (partialReasons.length) facts.push(['Incomplete', partialReasons.join('; ')]);

  const sections: { heading: string; lines: string[] }[] = [];
  const transfers = transferLines(rec, idx);
  if (transfers.length) sections.push({ heading: 'Transfers', lines: transfers });
  if (rec.summary?.text) sections.push({ heading: 'Summary', lines: [normaliseText(rec.summary.text)] });
  sections.push(...surveySections(rec));

  const title = `LivePerson conversation ${headerText(conversationId)}`;
  const model: TranscriptModel = { title, facts, participants, sections, messages };
  const sourceJson = Buffer.from(`${JSON.stringify(record, null, 2)}\n`, 'utf8');

  const headers: Record<string, string> = {
    'X-LivePerson-Conversation-Id': headerText(conversationId),
    'X-LivePerson-Account-Id': headerText(accountId),
    'X-LivePerson-Status': status,
    'X-LivePerson-Content-Version': version,
  };
  if (skill) headers['X-LivePerson-Skill'] = skill;
  if (channel) headers['X-LivePerson-Channel'] = channel;
  if (partialReasons.length) headers['X-LivePerson-Partial'] = clip(partialReasons.join('; '), 900);

  const mail: MailComposerOptions = {
    from: { name: fromP.name, address: fromP.address },
    to,
    subject,
    messageId,
    date: new Date(startMs),
    headers,
    text: quotedPrintablePart('text/plain', toCrlf(renderText(model))),
    html: quotedPrintablePart('text/html', toCrlf(renderHtml(model))),
    attachments: [
      ...files.attachments.map((a) => ({
        filename: a.filename,
        contentType: a.contentType,
        content: a.content,
      })),
      { filename: sourceName, contentType: 'application/json', content: sourceJson },
    ],
    // Deterministic boundaries: the same record gives the same bytes.
    baseBoundary: version.slice(0, 24),
    // Base64 encoded-words: Python's email parser (common in eDiscovery tooling) mis-joins adjacent
    // Q-encoded words (CPython gh-128110); B keeps short names in one word.
    textEncoding: 'B',
    disableFileAccess: true,
    disableUrlAccess: true,
    normalizeHeaderKey,
  };

  const result: Omit<ConversionResult, 'eml'> = {
    conversationId,
    accountId,
    version,
    messageId,
    subject,
    from: { name: fromP.name, address: fromP.address },
    to,
    addresses,
    participants: participants.map(({ id, role, name, address, synthetic }) => ({
      id,
      role,
      name,
      address,
      synthetic,
    })),
    startTime: new Date(startMs),
    ...(endMs === undefined ? {} : { endTime: new Date(endMs) }),
    status,
    counts: {
      messages: messages.length,
      files: jobs.length,
      filesAttached: [...files.outcomes.values()].filter((o) => o.status === 'attached').length,
      participants: participants.length,
    },
    partialReasons,
    sourceJson,
  };
  return { result, mail };
}
