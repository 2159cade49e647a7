/**
 * What the transcript shows, taken from the validated record: messages in order with their parts
 * (text, rich content, files, links, anything else), transfers and surveys.
 */
import type { ConversationRecord, MessageRecord } from '../liveperson/record.js';
import { epochOf } from '../liveperson/record.js';
import type { FileJob } from './attachments.js';
import type { ParticipantIndex } from './participants.js';
import { richContentLines } from './rich-content.js';
import { headerText, normaliseText, utc } from './text.js';
import type { MessagePart } from './transcript.js';

export interface Sorted {
  rec: MessageRecord;
  time?: number;
  index: number;
}

/** Order of time, then seq, then position in the record (stable for equal keys). */
export function orderMessages(messages: readonly MessageRecord[]): Sorted[] {
  const sorted = messages.map((rec, index) => ({ rec, time: epochOf(rec.timeL, rec.time), index }));
  sorted.sort(
    (a, b) =>
      (a.time ?? Number.MAX_SAFE_INTEGER) - (b.time ?? Number.MAX_SAFE_INTEGER) ||
      (a.rec.seq ?? 0) - (b.rec.seq ?? 0) ||
      a.index - b.index,
  );
  return sorted;
}

export function surveySections(rec: ConversationRecord): { heading: string; lines: string[] }[] {
  const sections: { heading: string; lines: string[] }[] = [];
  const answer = (v: unknown) =>
    typeof v === 'string' ? headerText(v) : v === undefined ? '' : headerText(JSON.stringify(v));
  for (const s of rec.conversationSurveys ?? []) {
    const lines = (s.surveyData ?? []).map(
      (d) => `Q: ${headerText(d.question) || d.questionId || '?'} A: ${answer(d.answer)}`,
    );
    sections.push({
      heading: `Survey: ${[s.surveyType, s.surveyStatus].filter(Boolean).map(headerText).join(', ') || 'conversation survey'}`,
      lines: lines.length ? lines : ['(no answers)'],
    });
  }
  const agentSurveys = [
    ...(rec.latestAgentSurvey ? [rec.latestAgentSurvey] : []),
    ...(rec.previouslySubmittedAgentSurveys ?? []),
  ];
  for (const s of agentSurveys) {
    const lines = (s.submittedAnswers ?? []).map(
      (a) =>
        `Q: ${headerText(a.questionText) || a.questionId || '?'} A: ${(a.answers ?? []).map((x) => answer(x.answer)).join('; ')}`,
    );
    const by = headerText(s.performedByAgentName ?? s.performedByAgentNickName);
    sections.push({
      heading: `Agent survey: ${[s.acSurveyName, s.surveyStatus].filter(Boolean).map(headerText).join(', ') || 'agent survey'}${by ? ` (by ${by})` : ''}`,
      lines: lines.length ? lines : ['(no answers)'],
    });
  }
  return sections;
}

export function transferLines(rec: ConversationRecord, idx: ParticipantIndex): string[] {
  return (rec.transfers ?? []).map((t) => {
    const from =
      headerText(t.sourceAgentFullName ?? t.sourceAgentNickname ?? t.sourceSkillName) || 'unassigned';
    const to =
      headerText(
        t.assignedAgentFullName ??
          t.assignedAgentNickname ??
          idx.get(t.assignedAgentId)?.name ??
          t.targetSkillName,
      ) || 'queue';
    const skill = t.targetSkillName ? ` (skill ${headerText(t.targetSkillName)})` : '';
    return `${utc(epochOf(t.timeL, t.time))}: ${from} -> ${to}${skill}${t.reason ? `, reason ${headerText(t.reason)}` : ''}`;
  });
}

export function messageParts(
  m: MessageRecord,
  key: string,
  jobs: FileJob[],
  conversationId: string,
): MessagePart[] {
  const parts: MessagePart[] = [];
  const d = m.messageData;
  if (d?.msg?.text !== undefined) parts.push({ kind: 'text', text: normaliseText(d.msg.text) });
  if (d?.richContent?.content !== undefined) {
    parts.push({ kind: 'rich', label: 'rich content', lines: richContentLines(d.richContent.content) });
  }
  if (d?.quickReplies?.content !== undefined) {
    parts.push({ kind: 'rich', label: 'quick replies', lines: richContentLines(d.quickReplies.content) });
  }
  if (d?.file) {
    const f = d.file;
    jobs.push({
      key,
      ref: {
        conversationId,
        messageId: m.messageId ?? key,
        relativePath: f.relativePath ?? '',
        fileType: f.fileType,
        caption: f.caption,
        preview: f.preview,
      },
    });
    // The outcome is filled in once the provider answered (see below).
    parts.push({
      kind: 'file',
      name: headerText(f.caption) || headerText(f.relativePath?.split('/').pop()) || 'file',
      fileType: f.fileType ? headerText(f.fileType) : undefined,
      outcome: { status: 'missing', reason: 'pending' },
    });
  }
  if (d?.link) {
    const caption = d.link.caption ? normaliseText(d.link.caption) : 'link';
    parts.push({
      kind: 'rich',
      label: 'link',
      lines: [{ kind: 'link', text: caption, url: d.link.externalFileLink }],
    });
  }
  if (parts.length === 0) {
    // Secure forms and types we do not know: show what there is (the full record is attached anyway).
    const raw = d ? JSON.stringify(d) : '';
    const type = headerText(m.type) || 'message';
    parts.push({
      kind: 'note',
      text: raw && raw !== '{}' ? `[${type}] ${normaliseText(raw)}` : `[${type} without content]`,
    });
  }
  return parts;
}
