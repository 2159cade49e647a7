/**
 * One Messaging Interactions conversation record (`conversationHistoryRecords[]` item), validated for
 * exactly what the converter reads and no more.
 *
 * The schema checks types only: each field may arrive in any of the forms real accounts send (numbers as
 * strings, booleans as "true"/"false", placeholders such as "undefined", "null", -1 or "0" instead of a
 * missing value, both documented spellings of some containers). Reading a value goes through the small
 * normalisers below (`lpText`, `lpEpoch`, …), which turn placeholders into `undefined`. Keeping the
 * normalisation out of the schema is deliberate: zod's per-field preprocess/transform steps cost about ten
 * times the type checks themselves, and the record is validated once per conversion (see
 * lib/email/README.md, "Speed"). Unknown fields are not copied: the complete record is archived from the
 * caller's own object, so nothing is lost.
 */
import { z } from 'zod';

const PLACEHOLDER_STRINGS = new Set(['', 'undefined', 'null', 'NULL', 'None', '0', '-1', 'NaN']);

/** True for the values LivePerson sends instead of leaving a field out. */
export function isPlaceholder(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (typeof v === 'string') return PLACEHOLDER_STRINGS.has(v.trim());
  if (typeof v === 'number') return v === -1 || Number.isNaN(v);
  return false;
}

const received = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** A metadata value (name, id, label): a string, number or boolean; read with lpText. */
const meta = z
  .union([z.string(), z.number(), z.boolean(), z.null()], {
    error: (iss) => `expected text, received ${received(iss.input)}`,
  })
  .optional();

const PLACEHOLDER_OR_INTEGER = /^\s*(?:-?\d+|undefined|null|NULL|None|NaN|)\s*$/;
const PLACEHOLDER_OR_NUMBER = /^\s*(?:-?\d+(?:\.\d+)?|undefined|null|NULL|None|NaN|)\s*$/;

/** An epoch-milliseconds field (`*L`): a whole number, or one sent as a string; read with lpEpoch. */
const epoch = z
  .union(
    [
      z.number().int(),
      z.string().regex(PLACEHOLDER_OR_INTEGER, 'expected number, received string'),
      z.null(),
    ],
    {
      error: (iss) =>
        typeof iss.input === 'number'
          ? 'expected a whole number of milliseconds'
          : `expected number, received ${received(iss.input)}`,
    },
  )
  .optional();

/** A number LivePerson may send as a string (seq, duration); read with lpNumber. */
const numberLike = z
  .union(
    [z.number(), z.string().regex(PLACEHOLDER_OR_NUMBER, 'expected number, received string'), z.null()],
    { error: (iss) => `expected number, received ${received(iss.input)}` },
  )
  .optional();

/** A flag, also as "true"/"false"; read with lpBool. */
const flag = z
  .union([z.boolean(), z.enum(['true', 'false', ...PLACEHOLDER_STRINGS]), z.literal(-1), z.null()], {
    error: (iss) => `expected boolean, received ${received(iss.input)}`,
  })
  .optional();

/**
 * A text taken verbatim (message text, captions): only null/undefined are absent, "0" is real text, and a
 * bare number (a consumer typing "5" can arrive as 5) is its text. Read with lpRawText.
 */
const rawText = z
  .union([z.string(), z.number(), z.null()], {
    error: (iss) => `expected text, received ${received(iss.input)}`,
  })
  .optional();

/** An optional list: null (sent by some API versions for empty containers) reads as absent. */
const list = <T extends z.ZodType>(item: T) => z.array(item).nullish();

/** Either a single object or an array: the older singular spellings carry one item. Read with lpList. */
const oneOrMany = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => (v === null || v === undefined || Array.isArray(v) ? v : [v]), list(item));

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
  // Taken exactly as sent (never trimmed): " x" and "x" are different conversations.
  conversationId: z
    .union([z.string(), z.number()], {
      error: (iss) =>
        iss.input === undefined
          ? 'a conversation id is required'
          : `expected text, received ${received(iss.input)}`,
    })
    .refine((v) => String(v).length > 0, 'conversation id is empty')
    .refine((v) => String(v).length <= 256, 'conversation id is longer than 256 characters'),
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
  .superRefine((rec, ctx) => {
    const { startTimeL, startTime } = rec.info;
    if (lpEpoch(startTimeL) === undefined && parseLpTime(lpText(startTime)) === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['info', 'startTimeL'],
        message: 'a start time is required (info.startTimeL or info.startTime)',
      });
    }
  });

export type ConversationRecord = z.infer<typeof ConversationRecordSchema>;
export type MessageRecord = z.infer<typeof MessageRecordSchema>;
export type AgentParticipant = z.infer<typeof AgentParticipantSchema>;
export type ConsumerParticipant = z.infer<typeof ConsumerParticipantSchema>;

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

/** A list that may be absent or null. */
export function lpList<T>(v: readonly T[] | null | undefined): readonly T[] {
  return v ?? [];
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
