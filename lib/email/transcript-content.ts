/**
 * What the transcript shows, taken from the validated record: messages in order with their parts
 * (text, rich content, files, links, anything else), transfers as system lines, surveys and the summary.
 */
import {
  type ConversationRecord,
  epochOf,
  lpList,
  lpNumber,
  lpRawText,
  lpText,
  type MessageRecord,
} from '../liveperson/record.js';
import type { FileJob } from './attachments.js';
import type { ParticipantIndex } from './participants.js';
import { richContentLines } from './rich-content.js';
import { headerText, normaliseText, utc } from './text.js';
import type { MessagePart, TimelineEntry, TranscriptEvent, TranscriptMessage } from './transcript.js';

export interface Sorted {
  rec: MessageRecord;
  time?: number;
  index: number;
}

/** Order of time, then seq, then position in the record (stable for equal keys). */
export function orderMessages(messages: readonly MessageRecord[]): Sorted[] {
  const sorted = messages.map((rec, index) => ({
    rec,
    time: epochOf(rec.timeL, rec.time),
    seq: lpNumber(rec.seq) ?? 0,
    index,
  }));
  sorted.sort(
    (a, b) =>
      (a.time ?? Number.MAX_SAFE_INTEGER) - (b.time ?? Number.MAX_SAFE_INTEGER) ||
      a.seq - b.seq ||
      a.index - b.index,
  );
  return sorted;
}

const answerText = (v: unknown) =>
  typeof v === 'string' ? headerText(v) : v === undefined ? '' : headerText(JSON.stringify(v));

export function surveySections(rec: ConversationRecord): { heading: string; lines: string[] }[] {
  const sections: { heading: string; lines: string[] }[] = [];
  for (const s of lpList(rec.conversationSurveys)) {
    const lines = lpList(s.surveyData).map(
      (d) =>
        `Q: ${headerText(lpRawText(d.question)) || lpText(d.questionId) || '?'} A: ${answerText(d.answer)}`,
    );
    const label = [lpText(s.surveyType), lpText(s.surveyStatus)].filter(Boolean).map(headerText).join(', ');
    sections.push({
      heading: `Survey: ${label || 'conversation survey'}`,
      lines: lines.length ? lines : ['(no answers)'],
    });
  }
  const agentSurveys = [
    ...(rec.latestAgentSurvey ? [rec.latestAgentSurvey] : []),
    ...lpList(rec.previouslySubmittedAgentSurveys),
  ];
  for (const s of agentSurveys) {
    const lines = lpList(s.submittedAnswers).map(
      (a) =>
        `Q: ${headerText(lpRawText(a.questionText)) || lpText(a.questionId) || '?'} A: ${lpList(a.answers)
          .map((x) => answerText(x.answer))
          .join('; ')}`,
    );
    const by = headerText(lpText(s.performedByAgentName) ?? lpText(s.performedByAgentNickName));
    const label = [lpText(s.acSurveyName), lpText(s.surveyStatus)].filter(Boolean).map(headerText).join(', ');
    sections.push({
      heading: `Agent survey: ${label || 'agent survey'}${by ? ` (by ${by})` : ''}`,
      lines: lines.length ? lines : ['(no answers)'],
    });
  }
  return sections;
}

export function transferEvents(rec: ConversationRecord, idx: ParticipantIndex): TranscriptEvent[] {
  return lpList(rec.transfers).map((t) => {
    const from =
      headerText(
        lpText(t.sourceAgentFullName) ?? lpText(t.sourceAgentNickname) ?? lpText(t.sourceSkillName),
      ) || 'unassigned';
    const to =
      headerText(
        lpText(t.assignedAgentFullName) ??
          lpText(t.assignedAgentNickname) ??
          idx.get(lpText(t.assignedAgentId))?.name ??
          lpText(t.targetSkillName),
      ) || 'queue';
    const skill = headerText(lpText(t.targetSkillName));
    const reason = headerText(lpText(t.reason));
    const pieces: TranscriptEvent['pieces'] = ['transfer: ', { name: from }, ' -> ', { name: to }];
    if (skill) pieces.push(' (skill ', { name: skill }, ')');
    if (reason) pieces.push(`, reason ${reason}`);
    const time = epochOf(t.timeL, t.time);
    return { type: 'event', time, at: utc(time), pieces };
  });
}

/** Messages and events in one line of time; an event goes before messages of the same instant. */
export function mergeTimeline(messages: TranscriptMessage[], events: TranscriptEvent[]): TimelineEntry[] {
  if (events.length === 0) return messages;
  const sortedEvents = [...events].sort(
    (a, b) => (a.time ?? Number.MAX_SAFE_INTEGER) - (b.time ?? Number.MAX_SAFE_INTEGER),
  );
  const out: TimelineEntry[] = [];
  let e = 0;
  for (const m of messages) {
    while (
      e < sortedEvents.length &&
      (sortedEvents[e]?.time ?? Number.MAX_SAFE_INTEGER) <= (m.time ?? Number.MAX_SAFE_INTEGER)
    )
      out.push(sortedEvents[e++] as TranscriptEvent);
    out.push(m);
  }
  while (e < sortedEvents.length) out.push(sortedEvents[e++] as TranscriptEvent);
  return out;
}

/**
 * The parts of one message. A hosted file adds a FileJob (filled in once the provider answered) and a
 * file part whose outcome is set later.
 */
export function messageParts(
  m: MessageRecord,
  n: number,
  time: number | undefined,
  jobs: FileJob[],
  conversationId: string,
): MessagePart[] {
  const parts: MessagePart[] = [];
  const d = m.messageData;
  const text = lpRawText(d?.msg?.text);
  if (text !== undefined) parts.push({ kind: 'text', text: normaliseText(text) });
  if (d?.richContent && d.richContent.content !== undefined) {
    parts.push({ kind: 'rich', label: 'rich content', lines: richContentLines(d.richContent.content) });
  }
  if (d?.quickReplies && d.quickReplies.content !== undefined) {
    parts.push({ kind: 'rich', label: 'quick replies', lines: richContentLines(d.quickReplies.content) });
  }
  if (d?.file) {
    const f = d.file;
    const relativePath = lpText(f.relativePath) ?? '';
    const caption = lpRawText(f.caption);
    const fileType = lpText(f.fileType);
    jobs.push({
      messageNumber: n,
      sentAt: time,
      ref: {
        conversationId,
        messageId: lpText(m.messageId) ?? `message-${n}`,
        relativePath,
        fileType,
        caption,
        preview: lpRawText(f.preview),
      },
    });
    parts.push({
      kind: 'file',
      name: headerText(caption) || headerText(relativePath.split('/').pop()) || 'file',
      fileType: fileType ? headerText(fileType) : undefined,
      // Replaced once the provider answered (convert.ts).
      outcome: { status: 'missing', code: 'no-provider', reason: 'pending' },
    });
  }
  if (d?.link) {
    const caption = lpRawText(d.link.caption);
    parts.push({
      kind: 'rich',
      label: 'link',
      lines: [
        {
          kind: 'link',
          text: caption ? normaliseText(caption) : 'link',
          url: lpRawText(d.link.externalFileLink),
        },
      ],
    });
  }
  if (parts.length === 0) {
    // Secure forms and types we do not know: show what there is (the full record is attached anyway).
    const raw = d ? JSON.stringify(d) : '';
    const type = headerText(lpText(m.type)) || 'message';
    parts.push({
      kind: 'note',
      text: raw && raw !== '{}' ? `[${type}] ${normaliseText(raw)}` : `[${type} without content]`,
    });
  }
  return parts;
}
