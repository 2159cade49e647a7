/**
 * One Messaging Interactions conversation record (`conversationHistoryRecords[]` item), validated for
 * exactly what the converter reads and no more.
 *
 * The zod schema below is the definition (and the source of the types). It checks types only: each
 * field may arrive in any of the forms real accounts send (numbers as strings, booleans as
 * "true"/"false", placeholders such as "undefined", "null", -1 or "0" instead of a missing value, both
 * documented spellings of some containers). Reading a value goes through the small normalisers below
 * (`lpText`, `lpEpoch`, …), which turn placeholders into `undefined`.
 *
 * checkConversationRecord runs it compiled into a checking function (schema-check.ts): the same rules,
 * but the record is validated in place, nothing copied, which zod's own parse does for every object (a
 * measurable part of converting; lib/email/README.md, "Speed"). Unknown fields are allowed and ignored:
 * the complete record is archived from the caller's object, so nothing is lost.
 */
import { z } from 'zod';
import { compileSchemaCheck } from './schema-check.js';

const PLACEHOLDER_STRINGS = new Set(['', 'undefined', 'null', 'NULL', 'None', '0', '-1', 'NaN']);

/** True for the values LivePerson sends instead of leaving a field out. */
export function isPlaceholder(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (typeof v === 'string') return PLACEHOLDER_STRINGS.has(v.trim());
  if (typeof v === 'number') return v === -1 || Number.isNaN(v);
  return false;
}

/** A metadata value (name, id, label): a string, number or boolean; read with lpText. */
const meta = z.union([z.string(), z.number(), z.boolean(), z.null()]).describe('text').optional();

const PLACEHOLDER_OR_INTEGER = /^\s*(?:-?\d+|undefined|null|NULL|None|NaN|)\s*$/;
const PLACEHOLDER_OR_NUMBER = /^\s*(?:-?\d+(?:\.\d+)?|undefined|null|NULL|None|NaN|)\s*$/;

/** An epoch-milliseconds field (`*L`): a whole number, or one sent as a string; read with lpEpoch. */
const epoch = z
  .union([z.number().int(), z.string().regex(PLACEHOLDER_OR_INTEGER), z.null()])
  .describe('number')
  .optional();

/** A number LivePerson may send as a string (seq, duration); read with lpNumber. */
const numberLike = z
  .union([z.number(), z.string().regex(PLACEHOLDER_OR_NUMBER), z.null()])
  .describe('number')
  .optional();

/** A flag, also as "true"/"false"; read with lpBool. */
const flag = z
  .union([z.boolean(), z.enum(['true', 'false', ...PLACEHOLDER_STRINGS]), z.literal(-1), z.null()])
  .describe('boolean')
  .optional();

/**
 * A text taken verbatim (message text, captions): only null/undefined are absent, "0" is real text, and a
 * bare number (a consumer typing "5" can arrive as 5) is its text. Read with lpRawText.
 */
const rawText = z.union([z.string(), z.number(), z.null()]).describe('text').optional();

/** An optional list: null (sent by some API versions for empty containers) reads as absent. */
const list = <T extends z.ZodType>(item: T) => z.array(item).nullish();

/** Either a single object or an array: the older singular spellings carry one item. Read with lpList. */
const oneOrMany = <T extends z.ZodType>(item: T) => z.union([z.array(item), item]).nullish();

const maybe = <T extends z.ZodType>(item: T) => item.nullish();

export const MessageFileSchema = z.object({
  relativePath: meta,
  fileType: meta,
  caption: rawText,
  preview: rawText,
});

// Loose: a message type the converter does not know is shown with all its data.
export const MessageDataSchema = z
  .object({
    msg: maybe(z.object({ text: rawText })),
    richContent: maybe(z.object({ content: z.unknown().optional() })),
    quickReplies: maybe(z.object({ content: z.unknown().optional() })),
    file: maybe(MessageFileSchema),
    link: maybe(z.object({ externalFileLink: rawText, caption: rawText })),
  })
  .loose();

export const MessageRecordSchema = z.object({
  type: meta,
  messageData: maybe(MessageDataSchema),
  messageId: meta,
  seq: numberLike,
  dialogId: meta,
  participantId: meta,
  time: meta,
  timeL: epoch,
  sentBy: meta,
  audience: meta,
});

export const AgentParticipantSchema = z.object({
  agentId: meta,
  agentLoginName: meta,
  agentNickname: meta,
  agentFullName: meta,
  agentDeleted: flag,
  role: meta,
  userType: meta,
  userTypeName: meta,
});

export const ConsumerParticipantSchema = z.object({
  participantId: meta,
  firstName: meta,
  lastName: meta,
  consumerName: meta,
  email: meta,
});

export const TransferSchema = z.object({
  time: meta,
  timeL: epoch,
  assignedAgentId: meta,
  assignedAgentFullName: meta,
  assignedAgentNickname: meta,
  targetSkillName: meta,
  sourceSkillName: meta,
  sourceAgentFullName: meta,
  sourceAgentNickname: meta,
  reason: meta,
});

export const DialogSchema = z.object({ dialogId: meta, dialogType: meta });

export const ConversationSurveySchema = z.object({
  surveyType: meta,
  surveyStatus: meta,
  surveyData: list(z.object({ question: rawText, answer: z.unknown().optional(), questionId: meta })),
});

export const AgentSurveySchema = z.object({
  surveyStatus: meta,
  acSurveyName: meta,
  performedByAgentName: meta,
  performedByAgentNickName: meta,
  submittedAnswers: list(
    z.object({
      questionText: rawText,
      questionId: meta,
      answers: list(z.object({ answer: z.unknown().optional() })),
    }),
  ),
});

export const SdeEventSchema = z.object({
  personalInfo: maybe(
    z.object({
      personalInfo: maybe(
        z.object({
          name: meta,
          surname: meta,
          contacts: list(z.object({ personalContact: maybe(z.object({ email: meta })) })),
        }),
      ),
    }),
  ),
});

export const ConversationInfoSchema = z.object({
  // Taken exactly as sent, never trimmed: " x" and "x" are different conversations. Its length is
  // checked in checkConversationRecord (in UTF-16 units, as the rest of the code counts).
  conversationId: z.union([z.string(), z.number()]).describe('text'),
  brandId: meta,
  status: meta,
  startTime: meta,
  startTimeL: epoch,
  endTime: meta,
  endTimeL: epoch,
  duration: numberLike,
  closeReason: meta,
  closeReasonDescription: meta,
  source: meta,
  device: meta,
  integration: meta,
  latestSkillName: meta,
  latestAgentId: meta,
  latestAgentFullName: meta,
  latestAgentNickname: meta,
  isPartial: flag,
});

export const ConversationRecordSchema = z
  .object({
    info: ConversationInfoSchema,
    messageRecords: list(MessageRecordSchema),
    agentParticipants: oneOrMany(AgentParticipantSchema),
    consumerParticipants: oneOrMany(ConsumerParticipantSchema),
    consumerParticipant: oneOrMany(ConsumerParticipantSchema),
    transfers: list(TransferSchema),
    dialogs: list(DialogSchema),
    conversationSurveys: list(ConversationSurveySchema),
    latestAgentSurvey: maybe(AgentSurveySchema),
    previouslySubmittedAgentSurveys: list(AgentSurveySchema),
    summary: maybe(z.object({ text: rawText })),
    sdes: maybe(z.object({ events: list(SdeEventSchema) })),
  })
  .describe('object');

export type ConversationRecord = z.infer<typeof ConversationRecordSchema>;
export type MessageRecord = z.infer<typeof MessageRecordSchema>;
export type AgentParticipant = z.infer<typeof AgentParticipantSchema>;
export type ConsumerParticipant = z.infer<typeof ConsumerParticipantSchema>;

/** Where a record is wrong: the path of the field (e.g. ['messageRecords', 3, 'timeL']) and why. */
export interface RecordProblem {
  path: (string | number)[];
  message: string;
}

let compiled: ReturnType<typeof compileSchemaCheck> | undefined;

/**
 * Validates a record for the converter. The record itself is returned (typed), never a copy. Besides
 * the schema: the conversation id is 1 to 256 characters, and a start time is required.
 */
export function checkConversationRecord(
  record: unknown,
): { ok: true; record: ConversationRecord } | { ok: false; problem: RecordProblem } {
  compiled ??= compileSchemaCheck(ConversationRecordSchema);
  const found = compiled(record);
  if (found) {
    const message =
      found.received === 'undefined'
        ? `missing (expected ${found.expected})`
        : `expected ${found.expected}, received ${found.received}`;
    return { ok: false, problem: { path: found.path, message } };
  }
  const rec = record as ConversationRecord;
  const id = String(rec.info.conversationId);
  if (id.length === 0)
    return { ok: false, problem: { path: ['info', 'conversationId'], message: 'conversation id is empty' } };
  if (id.length > 256) {
    return {
      ok: false,
      problem: { path: ['info', 'conversationId'], message: 'conversation id is longer than 256 characters' },
    };
  }
  if (lpEpoch(rec.info.startTimeL) === undefined && parseLpTime(lpText(rec.info.startTime)) === undefined) {
    return {
      ok: false,
      problem: {
        path: ['info', 'startTimeL'],
        message: 'a start time is required (info.startTimeL or info.startTime)',
      },
    };
  }
  return { ok: true, record: rec };
}

type Meta = string | number | boolean | null | undefined;

/** A metadata value as text; placeholders are absent. Never trimmed or otherwise altered. */
export function lpText(v: Meta): string | undefined {
  return isPlaceholder(v) ? undefined : String(v);
}

/** A verbatim text (message, caption): only null/undefined are absent. */
export function lpRawText(v: string | number | null | undefined): string | undefined {
  return v === null || v === undefined ? undefined : String(v);
}

/** Epoch milliseconds; -1, 0 and placeholders are absent. */
export function lpEpoch(v: number | string | null | undefined): number | undefined {
  if (typeof v === 'number') return v === 0 || v === -1 ? undefined : v;
  if (isPlaceholder(v)) return undefined;
  const n = Number((v as string).trim());
  return n === 0 || !Number.isSafeInteger(n) ? undefined : n;
}

/** A number sent as a number or a numeric string; empty and placeholder strings are absent. */
export function lpNumber(v: number | string | null | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (v === null || v === undefined) return undefined;
  const t = v.trim();
  if (!t || t === 'undefined' || t === 'null' || t === 'NULL' || t === 'None' || t === 'NaN')
    return undefined;
  return Number(t);
}

/** A flag sent as a boolean or as "true"/"false"; placeholders are absent. */
export function lpBool(v: boolean | string | number | null | undefined): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return undefined;
}

/** A list that may be absent, null, or (older singular spellings) a single item. */
export function lpList<T>(v: readonly T[] | T | null | undefined): readonly T[] {
  if (v === null || v === undefined) return [];
  return Array.isArray(v) ? (v as readonly T[]) : [v as T];
}

/**
 * Parses LivePerson's time strings ("2024-03-04 09:15:02.118+0000", also ISO forms). Only used when the
 * epoch `*L` twin is absent, since the documented string format and the examples disagree.
 */
export function parseLpTime(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?)\s*(Z|[+-]\d{2}:?\d{2})?$/.exec(
    s.trim(),
  );
  if (!m) return undefined;
  let zone = m[3] ?? 'Z';
  if (/^[+-]\d{4}$/.test(zone)) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const t = Date.parse(`${m[1]}T${m[2]}${zone}`);
  return Number.isNaN(t) ? undefined : t;
}

/** Epoch ms of a `*L` field, else of its time string twin. */
export function epochOf(l: number | string | null | undefined, s: Meta): number | undefined {
  return lpEpoch(l) ?? parseLpTime(lpText(s));
}
