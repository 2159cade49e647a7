/**
 * The transcript a reviewer reads, built once as a small model and rendered twice: text/plain, and
 * text/html for mail clients with weak CSS (Outlook's Word engine): inline styles only, tables for
 * layout, no scripts, no external resources (images come from the message itself, by Content-ID;
 * images on the web stay links). Everything from the conversation is escaped; names, addresses and file
 * names are isolated (<bdi>) so right-to-left text cannot reorder the line around it.
 *
 * Both renderings carry the same information: who is who (a role label on every line, and in HTML a
 * colour and a side per kind of participant), every message with its number and UTC time, the list of
 * files with size, SHA-256 and the message they came from, the source record, and an end marker.
 */
import type { FileOutcome } from './attachments.js';
import type { Participant, ParticipantKind } from './participants.js';
import { roleLabel } from './participants.js';
import type { RichLine } from './rich-content.js';
import { escapeHtml, safeLink, utc } from './text.js';

export type MessagePart =
  | { kind: 'text'; text: string }
  | { kind: 'rich'; label: string; lines: RichLine[] }
  | { kind: 'file'; name: string; fileType?: string; outcome: FileOutcome }
  | { kind: 'note'; text: string };

export interface TranscriptMessage {
  type: 'message';
  /** 1-based position in the transcript, referred to by the file list. */
  n: number;
  time?: number;
  sender: Participant;
  private: boolean;
  /** e.g. "post-conversation survey" for messages outside the main dialog. */
  context?: string;
  parts: MessagePart[];
}

/** Something that happened between messages (a transfer), shown as a system line. */
export interface TranscriptEvent {
  type: 'event';
  time?: number;
  /** Plain text and names (isolated in HTML), in reading order. */
  pieces: (string | { name: string })[];
}

export type TimelineEntry = TranscriptMessage | TranscriptEvent;

/** A hosted file in the file list: where it came from and what became of it. */
export interface FileListing {
  name: string;
  fileType?: string;
  message: TranscriptMessage;
  outcome: FileOutcome;
}

export interface TranscriptModel {
  title: string;
  /** Label/value rows of the header block; values are single-line, already cleaned. */
  facts: [string, string][];
  participants: Participant[];
  /** Free-text sections (summary, surveys): a heading and lines. */
  sections: { heading: string; lines: string[] }[];
  timeline: TimelineEntry[];
  messageCount: number;
  files: FileListing[];
  source: { filename: string; size: number; sha256: string };
}

const PRIVATE_MARK = 'private: agents and managers only';

/** 12345 → "12,345 bytes"; from 1 KiB on with a rounded figure too. */
export function byteSize(n: number): string {
  const exact = `${String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',')} ${n === 1 ? 'byte' : 'bytes'}`;
  if (n < 1024) return exact;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]} (${exact})`;
}

function fileSummary(p: { name: string; fileType?: string; outcome: FileOutcome }): string {
  const type = p.fileType ? `, ${p.fileType}` : '';
  const o = p.outcome;
  if (o.status === 'attached')
    return `[file] ${p.name}${type}: attached as ${o.filename}, ${byteSize(o.size)}`;
  const preview = o.preview ? `; preview attached as ${o.preview.filename}` : '';
  return `[file] ${p.name}${type}: not retrieved: ${o.reason}${preview}`;
}

function participantFlags(p: Participant): string {
  return [
    p.loginName ? `login ${p.loginName}` : '',
    p.synthetic ? 'no known address' : '',
    p.deleted ? 'deleted user' : '',
  ]
    .filter(Boolean)
    .join(', ');
}

function messageOrigin(m: TranscriptMessage): string {
  return `message #${m.n}, ${utc(m.time)}, ${m.sender.name} (${roleLabel(m.sender)})`;
}

function endMarker(t: TranscriptModel): string {
  const missing = t.files.filter((f) => f.outcome.status === 'missing').length;
  const files = `${t.files.length} ${t.files.length === 1 ? 'file' : 'files'}${missing ? ` (${missing} not retrieved)` : ''}`;
  return `End of conversation · ${t.messageCount} ${t.messageCount === 1 ? 'message' : 'messages'} · ${files}`;
}

const eventText = (e: TranscriptEvent) => e.pieces.map((p) => (typeof p === 'string' ? p : p.name)).join('');

export function renderText(t: TranscriptModel): string {
  const out: string[] = [t.title, '='.repeat(Math.min(72, Math.max(8, t.title.length))), ''];
  for (const [k, v] of t.facts) out.push(`${k}: ${v}`);
  out.push('', 'Participants:');
  for (const p of t.participants) {
    const flags = participantFlags(p);
    out.push(`  - ${roleLabel(p)}: ${p.name} <${p.address}>${flags ? ` (${flags})` : ''}`);
  }
  for (const s of t.sections) {
    out.push('', `${s.heading}:`);
    for (const l of s.lines) out.push(`  ${l}`);
  }
  out.push('', `Messages (${t.messageCount}):`, '');
  for (const e of t.timeline) {
    if (e.type === 'event') {
      out.push(`-- [${utc(e.time)}] system: ${eventText(e)} --`, '');
      continue;
    }
    const extra = `${e.context ? ` [${e.context}]` : ''}${e.private ? ` [${PRIVATE_MARK}]` : ''}`;
    out.push(`#${e.n} [${utc(e.time)}] ${e.sender.name} (${roleLabel(e.sender)})${extra}:`);
    for (const part of e.parts) {
      switch (part.kind) {
        case 'text':
        case 'note':
          out.push(part.text);
          break;
        case 'rich':
          out.push(`[${part.label}]`);
          for (const l of part.lines) out.push(`  ${l.kind}: ${l.text}${l.url ? ` <${l.url}>` : ''}`);
          break;
        case 'file':
          out.push(fileSummary(part));
          break;
      }
    }
    out.push('');
  }
  out.push(`Files (${t.files.length}):`);
  t.files.forEach((f, i) => {
    const o = f.outcome;
    if (o.status === 'attached') {
      out.push(`  ${i + 1}. ${o.filename}: ${o.contentType}, ${byteSize(o.size)}`);
      out.push(`     SHA-256 ${o.sha256}`);
    } else {
      out.push(`  ${i + 1}. ${f.name}: not retrieved: ${o.reason}`);
      if (o.preview) {
        out.push(
          `     preview attached as ${o.preview.filename}: ${o.preview.contentType}, ${byteSize(o.preview.size)}`,
        );
        out.push(`     preview SHA-256 ${o.preview.sha256}`);
      }
    }
    out.push(`     from ${messageOrigin(f.message)}`);
  });
  if (t.files.length === 0) out.push('  (none)');
  const s = t.source;
  out.push(
    '',
    `Source record: the complete record as LivePerson returned it is attached as ${s.filename}`,
    `  (application/json, ${byteSize(s.size)}, keys sorted, SHA-256 ${s.sha256})`,
    '',
    endMarker(t),
  );
  return `${out.join('\n')}\n`;
}

// ---- HTML --------------------------------------------------------------------------------------------

interface KindStyle {
  accent: string;
  background: string;
  /** Which column span the line takes: consumers left, agents and bots right, system across. */
  side: 'left' | 'right' | 'across';
}

const KIND_STYLE: Record<ParticipantKind, KindStyle> = {
  consumer: { accent: '#1d4ed8', background: '#eef4ff', side: 'left' },
  agent: { accent: '#047857', background: '#ecfdf5', side: 'right' },
  bot: { accent: '#7c3aed', background: '#f5f0ff', side: 'right' },
  system: { accent: '#4b5563', background: '#f3f4f6', side: 'across' },
};
const PRIVATE_BACKGROUND = '#fff3d6';
const PRIVATE_ACCENT = '#b45309';

// Long unbroken text (a 320-character token, a URL, a SHA-256) wraps inside its cell: the wrap
// properties are inherited from the body, and fixed-layout tables never grow past the page.
const WRAP = 'overflow-wrap:anywhere;word-wrap:break-word;word-break:break-word';
const S = {
  body: `margin:0;padding:0;background:#ffffff;${WRAP}`,
  page: 'width:100%;max-width:760px;border-collapse:collapse;table-layout:fixed;font-family:Segoe UI,Arial,sans-serif;font-size:14px;line-height:1.4;color:#1f2937',
  title: 'padding:12px 8px 4px;font-size:20px;font-weight:bold;color:#111827',
  heading:
    'padding:16px 8px 4px;font-size:15px;font-weight:bold;color:#111827;border-bottom:1px solid #d1d5db',
  cell: 'padding:4px 8px;vertical-align:top',
  grid: 'width:100%;border-collapse:collapse;table-layout:fixed',
  label: 'padding:2px 8px 2px 0;vertical-align:top;color:#4b5563;font-weight:normal;text-align:left',
  meta: 'font-size:12px;color:#4b5563',
  text: 'white-space:pre-wrap',
  mono: 'font-family:Consolas,Menlo,monospace;font-size:12px',
  end: 'padding:14px 8px;text-align:center;color:#374151;border-top:2px solid #9ca3af;font-weight:bold',
};

/** The whole style of a message cell per kind (and private), built once. */
const CELL: Record<string, string> = {};
for (const [kind, k] of Object.entries(KIND_STYLE)) {
  for (const priv of [false, true]) {
    CELL[`${kind}${priv ? '!' : ''}`] =
      `padding:6px 10px;vertical-align:top;border-left:4px solid ${k.accent};background:${priv ? PRIVATE_BACKGROUND : k.background}${
        kind === 'system' ? ';text-align:center;font-style:italic' : ''
      }`;
  }
}
const ROLE = (p: Participant) =>
  `<span style="color:${KIND_STYLE[p.kind].accent};font-weight:bold;text-transform:uppercase">${escapeHtml(roleLabel(p))}</span>`;
const NAME = (s: string) => `<bdi style="font-weight:bold;color:#111827">${escapeHtml(s)}</bdi>`;
const BDI = (s: string) => `<bdi>${escapeHtml(s)}</bdi>`;

function linkHtml(text: string, url: string | undefined): string {
  const safe = safeLink(url);
  if (!safe) return `${escapeHtml(text)}${url ? ` &lt;${escapeHtml(url)}&gt;` : ''}`;
  return `${escapeHtml(text)} &lt;<a href="${escapeHtml(safe)}">${escapeHtml(url ?? safe)}</a>&gt;`;
}

/** An inline image from the message itself; its width attribute is for Outlook, which ignores max-width. */
function imageHtml(f: { cid?: string; filename: string; image?: { width?: number } }): string {
  if (!f.cid) return '';
  const w = f.image?.width;
  const width = w ? ` width="${Math.min(w, 480)}"` : '';
  return `<div style="margin:4px 0"><img src="cid:${escapeHtml(f.cid)}" alt="${escapeHtml(f.filename)}"${width} style="display:block;max-width:100%;height:auto;border:1px solid #d1d5db"></div>`;
}

function filePartHtml(p: Extract<MessagePart, { kind: 'file' }>): string {
  const o = p.outcome;
  const type = p.fileType ? `, ${escapeHtml(p.fileType)}` : '';
  if (o.status === 'attached') {
    return `${imageHtml(o)}<div style="${S.meta}">[file] ${BDI(p.name)}${type}: attached as ${BDI(o.filename)}, ${byteSize(o.size)}</div>`;
  }
  const preview = o.preview ? `; preview attached as ${BDI(o.preview.filename)}` : '';
  return `<div style="color:${PRIVATE_ACCENT}">[file] ${BDI(p.name)}${type}: not retrieved: ${escapeHtml(o.reason)}${preview}</div>${o.preview ? imageHtml(o.preview) : ''}`;
}

function messageHtml(m: TranscriptMessage, h: string[]): void {
  const k = KIND_STYLE[m.sender.kind];
  const cell = `<td colspan="${k.side === 'across' ? 3 : 2}" style="${CELL[`${m.sender.kind}${m.private ? '!' : ''}`]}">`;
  h.push(
    '<tr>',
    k.side === 'right' ? '<td></td>' : '',
    cell,
    `<div style="${S.meta}">`,
    ROLE(m.sender),
    ' · ',
  );
  h.push(NAME(m.sender.name), ` · #${m.n} · ${utc(m.time)}`);
  if (m.context) h.push(` · ${escapeHtml(m.context)}`);
  if (m.private)
    h.push(` · <span style="color:${PRIVATE_ACCENT};font-weight:bold">${PRIVATE_MARK.toUpperCase()}</span>`);
  h.push('</div>');
  for (const part of m.parts) {
    switch (part.kind) {
      case 'text':
      case 'note':
        h.push(`<div dir="auto" style="${S.text}">`, escapeHtml(part.text), '</div>');
        break;
      case 'rich':
        h.push(`<div style="${S.meta}">[${escapeHtml(part.label)}]</div>`);
        for (const l of part.lines) {
          h.push(
            `<div dir="auto" style="${S.text}">${escapeHtml(l.kind)}: `,
            linkHtml(l.text, l.url),
            '</div>',
          );
        }
        break;
      case 'file':
        h.push(filePartHtml(part));
        break;
    }
  }
  h.push('</td>', k.side === 'left' ? '<td></td>' : '', '</tr>\n');
}

function eventHtml(e: TranscriptEvent, h: string[]): void {
  h.push(
    `<tr><td colspan="3" style="${CELL.system}"><div style="${S.meta}">${ROLE({ kind: 'system', role: 'SYSTEM' } as Participant)} · ${utc(e.time)}</div><div>`,
  );
  for (const p of e.pieces) h.push(typeof p === 'string' ? escapeHtml(p) : BDI(p.name));
  h.push('</div></td></tr>\n');
}

function heading(text: string): string {
  return `<tr><td style="${S.heading}">${escapeHtml(text)}</td></tr>\n`;
}

export function renderHtml(t: TranscriptModel): string {
  const h: string[] = [
    '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>',
    escapeHtml(t.title),
    `</title></head>\n<body style="${S.body}">\n<table role="presentation" cellpadding="0" cellspacing="0" style="${S.page}">\n`,
    `<tr><td dir="auto" style="${S.title}">`,
    escapeHtml(t.title),
    `</td></tr>\n<tr><td style="${S.cell}"><table role="presentation" cellpadding="0" cellspacing="0" style="${S.grid}">\n<tr><th width="28%"></th><th></th></tr>\n`,
  ];
  for (const [k, v] of t.facts) {
    h.push(`<tr><th style="${S.label}">${escapeHtml(k)}</th><td><bdi>${escapeHtml(v)}</bdi></td></tr>\n`);
  }
  h.push('</table></td></tr>\n', heading(`Participants (${t.participants.length})`));
  h.push(
    `<tr><td style="${S.cell}"><table role="presentation" cellpadding="0" cellspacing="0" style="${S.grid}">\n`,
  );
  for (const p of t.participants) {
    const flags = participantFlags(p);
    h.push(
      `<tr><td style="padding:2px 0;border-left:4px solid ${KIND_STYLE[p.kind].accent};padding-left:8px">`,
      ROLE(p),
      ' · ',
      NAME(p.name),
      ` &lt;${BDI(p.address)}&gt;`,
      flags ? ` <span style="${S.meta}">(${BDI(flags)})</span>` : '',
      '</td></tr>\n',
    );
  }
  h.push('</table></td></tr>\n');
  for (const s of t.sections) {
    h.push(heading(s.heading), `<tr><td style="${S.cell}">`);
    for (const l of s.lines) h.push(`<div dir="auto" style="${S.text}">`, escapeHtml(l), '</div>');
    h.push('</td></tr>\n');
  }
  h.push(
    heading(`Messages (${t.messageCount})`),
    `<tr><td style="${S.cell}"><table role="presentation" cellpadding="0" cellspacing="0" style="width:100%;border-collapse:separate;border-spacing:0 6px;table-layout:fixed">\n`,
    '<tr><td width="12%" style="padding:0"></td><td width="76%" style="padding:0"></td><td width="12%" style="padding:0"></td></tr>\n',
  );
  for (const e of t.timeline) {
    if (e.type === 'event') eventHtml(e, h);
    else messageHtml(e, h);
  }
  h.push('</table></td></tr>\n', heading(`Files (${t.files.length})`), `<tr><td style="${S.cell}">`);
  h.push(`<table role="presentation" cellpadding="0" cellspacing="0" style="${S.grid}">\n`);
  t.files.forEach((f, i) => {
    const o = f.outcome;
    h.push(`<tr><td style="padding:6px 0;border-bottom:1px solid #e5e7eb">${i + 1}. `);
    if (o.status === 'attached') {
      h.push(
        `<b>${BDI(o.filename)}</b> · ${escapeHtml(o.contentType)} · ${byteSize(o.size)}${o.cid ? ' · shown above' : ''}`,
        `<div style="${S.mono}">SHA-256 ${o.sha256}</div>`,
      );
    } else {
      h.push(
        `<b>${BDI(f.name)}</b> · <span style="color:${PRIVATE_ACCENT}">not retrieved: ${escapeHtml(o.reason)}</span>`,
      );
      if (o.preview) {
        h.push(
          `<div>preview attached as ${BDI(o.preview.filename)} · ${escapeHtml(o.preview.contentType)} · ${byteSize(o.preview.size)}</div>`,
          `<div style="${S.mono}">preview SHA-256 ${o.preview.sha256}</div>`,
        );
      }
    }
    const m = f.message;
    h.push(
      `<div style="${S.meta}">from message #${m.n} · ${utc(m.time)} · ${BDI(m.sender.name)} (${escapeHtml(roleLabel(m.sender))})</div></td></tr>\n`,
    );
  });
  if (t.files.length === 0) h.push('<tr><td style="padding:4px 0;color:#4b5563">(none)</td></tr>\n');
  const s = t.source;
  h.push(
    '</table></td></tr>\n',
    heading('Source record'),
    `<tr><td style="${S.cell}">The complete record as LivePerson returned it is attached as <b>${BDI(s.filename)}</b> · application/json · ${byteSize(s.size)} · keys sorted<div style="${S.mono}">SHA-256 ${s.sha256}</div></td></tr>\n`,
    `<tr><td style="${S.end}">${escapeHtml(endMarker(t))}</td></tr>\n</table>\n</body></html>\n`,
  );
  return h.join('');
}
