/**
 * One Messaging Interactions conversation record (`conversationHistoryRecords[]` item), validated with the
 * tolerance real accounts need: both documented spellings of some containers, placeholder values
 * ("undefined", "null", -1, "0") read as absent, numbers sent as strings, and every unknown field kept
 * (`.loose()`), because the complete record is archived beside the transcript.
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

const absentIfPlaceholder = (v: unknown) => (isPlaceholder(v) ? undefined : v);

/** A metadata string (name, id, label): numbers are stringified, placeholders become undefined. */
const optText = z.preprocess(
  absentIfPlaceholder,
  z
    .union([z.string(), z.number(), z.boolean()])
    .transform((v) => String(v))
    .optional(),
);

/** An epoch-milliseconds field (`*L`): numeric strings accepted, -1 / 0 / placeholders absent. */
const optEpoch = z.preprocess((v) => {
  if (isPlaceholder(v) || v === 0 || v === '0') return undefined;
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v.trim());
  return v;
}, z.number().int().optional());

/** Any number LivePerson may send as a string (seq, duration). */
const optNumber = z.preprocess((v) => {
  if (v === null || v === undefined || v === '' || v === 'undefined' || v === 'null') return undefined;
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim())) return Number(v.trim());
  return v;
}, z.number().optional());

const optBool = z.preprocess(
  (v) => (v === 'true' ? true : v === 'false' ? false : absentIfPlaceholder(v)),
  z.boolean().optional(),
);

/**
 * A string taken verbatim (message text, captions): only null/undefined are absent, "0" is real text.
 * A bare number (a consumer typing "5" can arrive as 5) is kept as its text.
 */
const rawText = z.preprocess(
  (v) => (v === null ? undefined : typeof v === 'number' && Number.isFinite(v) ? String(v) : v),
  z.string().optional(),
);

/** An optional list: null (sent by some API versions for empty containers) reads as absent. */
const optArray = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => (v === null ? undefined : v), z.array(item).optional());

const loose = <T extends z.ZodRawShape>(shape: T) => z.object(shape).loose();

export const MessageFileSchema = loose({
  relativePath: optText,
  fileType: optText,
  caption: rawText,
  preview: rawText,
});

export const MessageDataSchema = loose({
  msg: loose({ text: rawText }).optional(),
  richContent: loose({ content: z.unknown().optional() }).optional(),
  quickReplies: loose({ content: z.unknown().optional() }).optional(),
  file: MessageFileSchema.optional(),
  link: loose({ externalFileLink: rawText, fileType: optText, caption: rawText }).optional(),
});

export const MessageRecordSchema = loose({
  type: optText,
  messageData: MessageDataSchema.optional(),
  messageId: optText,
  seq: optNumber,
  dialogId: optText,
  participantId: optText,
  time: optText,
  timeL: optEpoch,
  sentBy: optText,
  audience: optText,
});

export const AgentParticipantSchema = loose({
  agentId: optText,
  agentLoginName: optText,
  agentNickname: optText,
  agentFullName: optText,
  agentDeleted: optBool,
  role: optText,
  userType: optText,
  userTypeName: optText,
  permission: optText,
  time: optText,
  timeL: optEpoch,
  dialogId: optText,
});

export const ConsumerParticipantSchema = loose({
  participantId: optText,
  firstName: optText,
  lastName: optText,
  consumerName: optText,
  email: optText,
  phone: optText,
  time: optText,
  timeL: optEpoch,
  joinTimeL: optEpoch,
  dialogId: optText,
});

export const TransferSchema = loose({
  time: optText,
  timeL: optEpoch,
  assignedAgentId: optText,
  assignedAgentFullName: optText,
  assignedAgentNickname: optText,
  targetSkillId: optText,
  targetSkillName: optText,
  sourceSkillId: optText,
  sourceSkillName: optText,
  sourceAgentId: optText,
  sourceAgentFullName: optText,
  sourceAgentNickname: optText,
  reason: optText,
  by: optText,
});

export const DialogSchema = loose({
  dialogId: optText,
  status: optText,
  dialogType: optText,
  startTimeL: optEpoch,
  endTimeL: optEpoch,
  closeReason: optText,
  closeReasonDescription: optText,
  skillName: optText,
});

export const ConversationSurveySchema = loose({
  surveyType: optText,
  surveyStatus: optText,
  dialogId: optText,
  surveyId: optText,
  surveyData: optArray(loose({ question: rawText, answer: z.unknown().optional(), questionId: optText })),
});

export const AgentSurveySchema = loose({
  surveyStatus: optText,
  acSurveyName: optText,
  surveyId: optText,
  performedByAgentName: optText,
  performedByAgentNickName: optText,
  assignedAgentName: optText,
  submittedAnswers: optArray(
    loose({
      questionText: rawText,
      questionId: optText,
      answers: optArray(loose({ answer: z.unknown().optional(), answerId: optText })),
    }),
  ),
});

const PersonalContactSchema = loose({
  personalContact: loose({ email: optText, phone: optText }).optional(),
});

export const SdeEventSchema = loose({
  sdeType: optText,
  personalInfo: loose({
    personalInfo: loose({
      name: optText,
      surname: optText,
      contacts: optArray(PersonalContactSchema),
    }).optional(),
  }).optional(),
});

export const ConversationInfoSchema = loose({
  conversationId: z
    .union([z.string(), z.number()])
    .transform((v) => String(v).trim())
    .pipe(
      z.string().min(1, 'conversation id is empty').max(256, 'conversation id is longer than 256 characters'),
    ),
  brandId: optText,
  status: optText,
  startTime: optText,
  startTimeL: optEpoch,
  endTime: optText,
  endTimeL: optEpoch,
  conversationEndTimeL: optEpoch,
  duration: optNumber,
  closeReason: optText,
  closeReasonDescription: optText,
  source: optText,
  device: optText,
  integration: optText,
  latestSkillId: optText,
  latestSkillName: optText,
  latestAgentId: optText,
  latestAgentFullName: optText,
  latestAgentNickname: optText,
  isPartial: optBool,
  language: optText,
  timeZone: optText,
});

/** Either a single object or an array: the older singular spellings carry one item. */
const oneOrMany = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (v) => (v === null ? undefined : v),
    z.union([z.array(item), item.transform((x) => [x])]).optional(),
  );

export const ConversationRecordSchema = loose({
  info: ConversationInfoSchema,
  messageRecords: optArray(MessageRecordSchema),
  agentParticipants: oneOrMany(AgentParticipantSchema),
  consumerParticipants: oneOrMany(ConsumerParticipantSchema),
  consumerParticipant: oneOrMany(ConsumerParticipantSchema),
  transfers: optArray(TransferSchema),
  dialogs: optArray(DialogSchema),
  conversationSurveys: optArray(ConversationSurveySchema),
  latestAgentSurvey: z.preprocess((v) => (v === null ? undefined : v), AgentSurveySchema.optional()),
  previouslySubmittedAgentSurveys: optArray(AgentSurveySchema),
  summary: z.preprocess((v) => (v === null ? undefined : v), loose({ text: rawText }).optional()),
  sdes: z.preprocess(
    (v) => (v === null ? undefined : v),
    loose({ events: optArray(SdeEventSchema) }).optional(),
  ),
  messageScores: optArray(z.unknown()),
  messageScore: optArray(z.unknown()),
}).superRefine((rec, ctx) => {
  if (rec.info.startTimeL === undefined && parseLpTime(rec.info.startTime) === undefined) {
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

/** Epoch ms preferring the `*L` field over the string. */
export function epochOf(l: number | undefined, s: string | undefined): number | undefined {
  return l ?? parseLpTime(s);
}
