/**
 * One LivePerson conversation record → one RFC 5322 message (multipart/mixed: the transcript as
 * text/plain + text/html, the hosted files, and the complete source record as JSON). Deterministic: the
 * same record and the same file contents give the same Message-ID, boundaries and bytes, so re-runs
 * never create a second item.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import MailComposer, { type MailComposerOptions } from 'nodemailer/lib/mail-composer';
import type MimeNode from 'nodemailer/lib/mime-node';
import {
  type ConversationRecord,
  checkConversationRecord,
  epochOf,
  lpBool,
  lpList,
  lpNumber,
  lpRawText,
  lpText,
} from '../liveperson/record.js';
import type { UsersDirectory } from '../liveperson/users-schema.js';
import {
  type AttachedFile,
  type CollectedFiles,
  collectFiles,
  contentTypeFor,
  type FileJob,
  FileNamer,
  type PlannedAttachment,
} from './attachments.js';
import { type FileManifestEntry, type HostedFileProvider, LP_DELETED_MARKER } from './contract.js';
import { addressHeaderValue, asciiFallback, parameter, preparedValue, withParameters } from './headers.js';
import { alternativePart, base64Part } from './mime-parts.js';
import { ParticipantIndex } from './participants.js';
import {
  clip,
  duration as fmtDuration,
  headerText,
  isValidDomain,
  normaliseText,
  safeToken,
  utc,
} from './text.js';
import {
  type FileListing,
  type MessagePart,
  renderHtml,
  renderText,
  type TranscriptMessage,
  type TranscriptModel,
} from './transcript.js';
import {
  mergeTimeline,
  messageParts,
  orderMessages,
  surveySections,
  transferEvents,
} from './transcript-content.js';
import { sourceJson as canonicalSource } from './version.js';

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
  /** Where hosted files are spooled while they are hashed (default os.tmpdir()). */
  tempDir?: string;
}

export interface ConversionResult {
  /** Exactly the record's info.conversationId (as text), never cleaned or trimmed. */
  conversationId: string;
  accountId: string;
  /**
   * SHA-256 (hex) of the attached source JSON, which is the record's canonical JSON (keys sorted at every
   * level, 2-space indent): the same record in any key order gives the same version.
   */
  version: string;
  /**
   * The item's identity for storage: `version` when every hosted file is attached, else
   * `${version}.partial-${h}` (h: 8 hex of SHA-256 over the sorted (messageId, relativePath, code) of the
   * missing files). A later complete fetch is a different item; a retry missing the same files is the same.
   */
  itemKey: string;
  messageId: string;
  subject: string;
  from: { name: string; address: string };
  to: { name: string; address: string }[];
  addresses: string[];
  participants: {
    id: string;
    role: string;
    kind: 'consumer' | 'agent' | 'bot' | 'system';
    name: string;
    address: string;
    synthetic: boolean;
    loginName?: string;
  }[];
  startTime: Date;
  endTime?: Date;
  status: 'OPEN' | 'CLOSE';
  counts: { messages: number; files: number; filesAttached: number; participants: number };
  /** Every hosted file in message order: attached (size, SHA-256) or missing (code, reason). */
  files: FileManifestEntry[];
  /** Plain words for the status log, e.g. "photo.png: file removed at LivePerson (privacy deletion)". */
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
  const checked = checkConversationRecord(record);
  if (checked.ok) return checked.record;
  const rawId = (record as { info?: { conversationId?: unknown } } | null)?.info?.conversationId;
  const id =
    typeof rawId === 'string' || typeof rawId === 'number'
      ? headerText(String(rawId)) || undefined
      : undefined;
  const field = formatPath(checked.problem.path);
  throw new ConversionError(
    `${recordLabel(id, recordIndex)}: ${field}: ${checked.problem.message}`,
    field,
    id,
    recordIndex,
  );
}

/** A conversion up to the MIME step: the result's fields and the MailComposer input that makes the .eml. */
export interface PlannedConversion {
  result: Omit<ConversionResult, 'eml'>;
  mail: MailComposerOptions;
  /** Headers of the streamed attachments, set on their MIME nodes once composed (see compose()). */
  streamedHeaders: Map<number, { contentType: string; disposition: string }>;
  /** Releases spooled files when the message is never composed. */
  release(): Promise<void>;
}

/**
 * Composes the planned message. MailComposer writes the MIME structure, boundaries and file encoding;
 * header values are ours where its own encoder gets them wrong for some readers (headers.ts):
 * From/To are passed through as we encoded them, and the streamed attachments get our Content-Type and
 * Content-Disposition (RFC 2231 names) on their nodes through the public setHeader with prepared values.
 */
export function compose(plan: PlannedConversion): MimeNode {
  const root = new MailComposer(plan.mail).compile();
  const encode = root.encodeHeaderValue.bind(root);
  root.encodeHeaderValue = (key, value) =>
    key === 'From' || key === 'To' ? String(value) : encode(key, value);
  if (plan.streamedHeaders.size) {
    // multipart/mixed: the transcript's alternative part first, then the attachments in the order given.
    const children = root.childNodes.slice(1);
    for (const [i, h] of plan.streamedHeaders) {
      const node = children[i];
      if (!node) throw new Error('attachment parts are not where they were planned');
      node.setHeader('Content-Type', { prepared: true, value: h.contentType });
      node.setHeader('Content-Disposition', { prepared: true, value: h.disposition });
    }
  }
  return root;
}

export async function convertConversation(
  record: unknown,
  options: ConvertOptions = {},
): Promise<ConversionResult> {
  const plan = await planConversation(record, options);
  let root: MimeNode;
  try {
    root = compose(plan);
  } catch (err) {
    await plan.release();
    throw err;
  }
  return { ...plan.result, eml: root.createReadStream() };
}

/** Content-Type and Content-Disposition of an attachment, with RFC 2231 names and an ASCII fallback. */
function attachmentHeaders(
  a: Pick<AttachedFile, 'filename' | 'contentType'>,
  index: number,
): { contentType: string; disposition: string } {
  return {
    contentType: withParameters(
      a.contentType,
      parameter('name', asciiFallback(a.filename, `attachment-${index + 1}`)),
    ),
    disposition: withParameters('attachment', parameter('filename', a.filename)),
  };
}

/** The h of `${version}.partial-${h}`: only the missing files' (messageId, relativePath, code) count. */
function partialHash(missing: readonly { messageId: string; relativePath: string; code: string }[]): string {
  const list = missing.map((m) => JSON.stringify([m.messageId, m.relativePath, m.code])).sort();
  return createHash('sha256')
    .update(`[${list.join(',')}]`)
    .digest('hex')
    .slice(0, 8);
}

/**
 * Everything convertConversation does before MailComposer: validation, reading the files, rendering and
 * the composer's options. Exported so the benchmark can time MailComposer alone on the very same parts.
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
  const conversationId = String(info.conversationId);
  const accountId = clip(lpText(info.brandId), 64) || 'unknown';
  // The source attachment is the record's canonical JSON; its SHA-256 is the content version.
  const source = canonicalSource(record);
  const version = source.sha256;
  const status0 = lpText(info.status)?.toUpperCase();
  const startMs = epochOf(info.startTimeL, info.startTime) as number; // required by the schema
  const endMs = status0 === 'OPEN' ? undefined : epochOf(info.endTimeL, info.endTime);
  const status: 'OPEN' | 'CLOSE' =
    status0 === 'OPEN' || status0 === 'CLOSE' ? status0 : endMs === undefined ? 'OPEN' : 'CLOSE';

  const idx = new ParticipantIndex(rec, options.users, addressDomain);
  const dialogTypes = new Map(
    lpList(rec.dialogs).map((d) => [lpText(d.dialogId), lpText(d.dialogType)?.toUpperCase()]),
  );

  const jobs: FileJob[] = [];
  const fileParts: { part: Extract<MessagePart, { kind: 'file' }>; message: TranscriptMessage }[] = [];
  const messages: TranscriptMessage[] = orderMessages(lpList(rec.messageRecords)).map((s, i) => {
    const n = i + 1;
    const parts = messageParts(s.rec, n, s.time, jobs, conversationId);
    const dialogId = lpText(s.rec.dialogId);
    const dialogType = dialogId && dialogId !== conversationId ? dialogTypes.get(dialogId) : undefined;
    const msg: TranscriptMessage = {
      type: 'message',
      n,
      time: s.time,
      at: utc(s.time),
      sender: idx.forMessage(lpText(s.rec.participantId), lpText(s.rec.sentBy)),
      private: lpText(s.rec.audience)?.toUpperCase() === 'AGENTS_AND_MANAGERS',
      parts,
    };
    if (dialogType === 'POST_SURVEY') msg.context = 'post-conversation survey';
    else if (dialogType && dialogType !== 'MAIN') msg.context = `${dialogType.toLowerCase()} dialog`;
    for (const p of parts) if (p.kind === 'file') fileParts.push({ part: p, message: msg });
    return msg;
  });

  const sourceName = `conversation-${safeToken(conversationId, 80)}.json`;
  const namer = new FileNamer();
  namer.reserve(sourceName);
  const cidStem = `${version.slice(0, 16)}@${messageIdDomain}`;
  const collected: CollectedFiles = await collectFiles(jobs, options.files, namer, {
    tempDir: options.tempDir,
    cidFor: (i) => `image-${i + 1}.${cidStem}`,
  });

  try {
    return buildPlan();
  } catch (err) {
    await collected.release();
    throw err;
  }

  function buildPlan(): PlannedConversion {
    const { outcomes } = collected;
    fileParts.forEach((f, i) => {
      f.part.outcome = outcomes[i] as (typeof outcomes)[number];
    });
    const manifest: FileManifestEntry[] = jobs.map((job, i) => {
      const o = outcomes[i] as (typeof outcomes)[number];
      const base = {
        messageId: job.ref.messageId,
        ...(job.sentAt === undefined ? {} : { sentAt: job.sentAt }),
      };
      if (o.status === 'attached') {
        return {
          name: o.filename,
          contentType: o.contentType,
          size: o.size,
          sha256: o.sha256,
          ...base,
          status: 'attached',
          inline: o.cid !== undefined,
        };
      }
      const part = fileParts[i]?.part;
      return {
        name: part?.name ?? 'file',
        contentType: contentTypeFor(job.ref.fileType),
        ...base,
        status: 'missing',
        code: o.code,
        reason: o.reason,
        inline: false,
      };
    });
    const missingFiles = jobs.flatMap((job, i) => {
      const o = outcomes[i];
      return o?.status === 'missing'
        ? [{ messageId: job.ref.messageId, relativePath: job.ref.relativePath, code: o.code }]
        : [];
    });
    const partialSuffix = missingFiles.length ? `.partial-${partialHash(missingFiles)}` : '';
    const itemKey = `${version}${partialSuffix}`;

    // Addressing: From = first sender (else the consumer, else the first participant); To = everyone else.
    const participants = idx.list;
    const fromP =
      messages[0]?.sender ??
      participants.find((p) => p.kind === 'consumer') ??
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

    const consumer = participants.find((p) => p.kind === 'consumer');
    const skill = clip(lpText(info.latestSkillName), 120);
    const channel = [info.source, info.device, info.integration]
      .map((v) => clip(lpText(v), 60))
      .filter(Boolean)
      .join(' / ');
    const day = new Date(startMs).toISOString().slice(0, 10);
    const subject = `${[`LivePerson conversation with ${consumer?.name ?? fromP.name}`, skill, day].filter(Boolean).join(' · ')}${status === 'OPEN' ? ' (open)' : ''}`;
    const messageId = `<lp.${safeToken(accountId, 40)}.${safeToken(conversationId, 80)}.${version.slice(0, 16)}${partialSuffix}@${messageIdDomain}>`;

    // For the status log: the caption LivePerson shows, else where the file was; never its storage name.
    const partialReasons = jobs.flatMap((job, i) => {
      const o = outcomes[i];
      if (o?.status !== 'missing') return [];
      const caption = headerText(job.ref.caption);
      const label =
        caption && caption !== LP_DELETED_MARKER ? caption : `file in message #${job.messageNumber}`;
      return [`${label}: ${o.reason}`];
    });
    if (lpBool(info.isPartial)) partialReasons.push('LivePerson marked the record as partial');

    const facts: [string, string][] = [
      ['Conversation', headerText(conversationId)],
      ['Account', headerText(accountId)],
      ['Status', status],
      ['Started', utc(startMs)],
      ['Ended', endMs !== undefined ? utc(endMs) : status === 'OPEN' ? 'still open' : 'unknown'],
    ];
    const durMs = lpNumber(info.duration) ?? (endMs === undefined ? undefined : endMs - startMs);
    if (durMs !== undefined && durMs >= 0) facts.push(['Duration', fmtDuration(durMs)]);
    if (skill) facts.push(['Skill', skill]);
    if (channel) facts.push(['Channel', channel]);
    const closeReason = [lpText(info.closeReason), lpText(info.closeReasonDescription)]
      .map(headerText)
      .filter(Boolean)
      .join(' / ');
    if (closeReason) facts.push(['Close reason', closeReason]);
    if (partialReasons.length) facts.push(['Incomplete', partialReasons.join('; ')]);

    const sections: { heading: string; lines: string[] }[] = [];
    const summary = lpRawText(rec.summary?.text);
    if (summary) sections.push({ heading: 'Summary', lines: [normaliseText(summary)] });
    sections.push(...surveySections(rec));

    const files: FileListing[] = fileParts.map((f) => ({
      name: f.part.name,
      fileType: f.part.fileType,
      message: f.message,
      outcome: f.part.outcome,
    }));
    const title = `LivePerson conversation ${headerText(conversationId)}`;
    const model: TranscriptModel = {
      title,
      facts,
      participants,
      sections,
      timeline: mergeTimeline(messages, transferEvents(rec, idx)),
      messageCount: messages.length,
      files,
      source: { filename: sourceName, size: source.json.length, sha256: version },
    };

    const headers: MailComposerOptions['headers'] = [
      { key: 'From', value: addressHeaderValue('From', [fromP]) },
      { key: 'To', value: addressHeaderValue('To', to) },
      { key: 'Subject', value: preparedValue('Subject', subject) },
      { key: 'Date', value: new Date(startMs) },
      { key: 'Message-ID', value: { prepared: true, value: messageId } },
      {
        key: 'X-LivePerson-Conversation-Id',
        value: preparedValue('X-LivePerson-Conversation-Id', headerText(conversationId)),
      },
      {
        key: 'X-LivePerson-Account-Id',
        value: preparedValue('X-LivePerson-Account-Id', headerText(accountId)),
      },
      { key: 'X-LivePerson-Status', value: { prepared: true, value: status } },
      { key: 'X-LivePerson-Content-Version', value: { prepared: true, value: version } },
    ];
    if (skill) headers.push({ key: 'X-LivePerson-Skill', value: preparedValue('X-LivePerson-Skill', skill) });
    if (channel)
      headers.push({ key: 'X-LivePerson-Channel', value: preparedValue('X-LivePerson-Channel', channel) });
    if (partialReasons.length)
      headers.push({
        key: 'X-LivePerson-Partial',
        value: preparedValue('X-LivePerson-Partial', clip(partialReasons.join('; '), 900)),
      });

    const streamedHeaders = new Map<number, { contentType: string; disposition: string }>();
    const attachments: NonNullable<MailComposerOptions['attachments']> = collected.attachments.map(
      (a: PlannedAttachment, i) => {
        const h = attachmentHeaders(a, i);
        const cid = a.cid ? `\r\nContent-ID: <${a.cid}>` : '';
        if (Buffer.isBuffer(a.content)) {
          return {
            raw: base64Part(
              `Content-Type: ${h.contentType}${cid}\r\nContent-Disposition: ${h.disposition}`,
              a.content,
            ),
          };
        }
        streamedHeaders.set(i, h);
        return {
          // Replaced on the composed node (compose()); MailComposer needs a name to treat it as a file.
          filename: asciiFallback(a.filename, `attachment-${i + 1}`),
          contentType: a.contentType,
          content: a.content(),
          contentDisposition: 'attachment',
          ...(a.cid ? { headers: { 'Content-ID': `<${a.cid}>` } } : {}),
        };
      },
    );
    const sourceHeaders = attachmentHeaders({ filename: sourceName, contentType: 'application/json' }, 0);
    attachments.push({
      raw: base64Part(
        `Content-Type: ${sourceHeaders.contentType}\r\nContent-Disposition: ${sourceHeaders.disposition}`,
        source.json,
      ),
    });

    const baseBoundary = version.slice(0, 24);
    const mail: MailComposerOptions = {
      headers,
      // The transcript: text/plain and text/html in their multipart/alternative, the first part.
      attachments: [
        { raw: alternativePart(baseBoundary, renderText(model), renderHtml(model)) },
        ...attachments,
      ],
      // Deterministic boundaries: the same record gives the same bytes.
      baseBoundary,
      disableFileAccess: true,
      disableUrlAccess: true,
    };

    const result: Omit<ConversionResult, 'eml'> = {
      conversationId,
      accountId,
      version,
      itemKey,
      messageId,
      subject,
      from: { name: fromP.name, address: fromP.address },
      to,
      addresses,
      participants: participants.map(({ id, role, kind, name, address, synthetic, loginName }) => ({
        id,
        role,
        kind,
        name,
        address,
        synthetic,
        ...(loginName === undefined ? {} : { loginName }),
      })),
      startTime: new Date(startMs),
      ...(endMs === undefined ? {} : { endTime: new Date(endMs) }),
      status,
      counts: {
        messages: messages.length,
        files: jobs.length,
        filesAttached: manifest.filter((f) => f.status === 'attached').length,
        participants: participants.length,
      },
      files: manifest,
      partialReasons,
      sourceJson: source.json,
    };
    return { result, mail, streamedHeaders, release: collected.release };
  }
}
