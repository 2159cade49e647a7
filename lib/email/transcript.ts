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
import { escapeHtml, safeLink } from './text.js';

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
  /** `time` as shown: 2024-03-04 09:15:02 UTC (formatted once, shown in both renderings). */
  at: string;
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
  at: string;
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
  return `message #${m.n}, ${m.at}, ${m.sender.name} (${roleLabel(m.sender)})`;
}

function endMarker(t: TranscriptModel): string {
  const missing = t.files.filter((f) => f.outcome.status === 'missing').length;
  const files = `${t.files.length} ${t.files.length === 1 ? 'file' : 'files'}${missing ? ` (${missing} not retrieved)` : ''}`;
  return `End of conversation · ${t.messageCount} ${t.messageCount === 1 ? 'message' : 'messages'} · ${files}`;
}

const eventText = (e: TranscriptEvent) => e.pieces.map((p) => (typeof p === 'string' ? p : p.name)).join('');

/** Line breaks inside a value as CRLF, the form of text in a MIME part. */
const crlf = (s: string) => (s.includes('\n') ? s.replaceAll('\n', '\r\n') : s);

/** The text/plain transcript, with CRLF line breaks. */
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
    for (const l of s.lines) out.push(crlf(`  ${l}`));
  }
  out.push('', `Messages (${t.messageCount}):`, '');
  const senders = new Map<Participant, string>();
  for (const e of t.timeline) {
    if (e.type === 'event') {
      out.push(`-- [${e.at}] system: ${eventText(e)} --`, '');
      continue;
    }
    const extra = `${e.context ? ` [${e.context}]` : ''}${e.private ? ` [${PRIVATE_MARK}]` : ''}`;
    let who = senders.get(e.sender);
    if (who === undefined) {
      who = `${e.sender.name} (${roleLabel(e.sender)})`;
      senders.set(e.sender, who);
    }
    out.push(`#${e.n} [${e.at}] ${who}${extra}:`);
    for (const part of e.parts) {
      switch (part.kind) {
        case 'text':
        case 'note':
          out.push(crlf(part.text));
          break;
        case 'rich':
          out.push(`[${part.label}]`);
          for (const l of part.lines) out.push(crlf(`  ${l.kind}: ${l.text}${l.url ? ` <${l.url}>` : ''}`));
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
    `Source record: the complete record LivePerson returned is attached as ${s.filename}`,
    `  (application/json, ${byteSize(s.size)}, canonical JSON with keys sorted; its SHA-256 is the content`,
    `  version: ${s.sha256})`,
    '',
    endMarker(t),
  );
  return `${out.join('\r\n')}\r\n`;
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

/** The whole style of a message cell per kind (and private), built once: it repeats on every line. */
const CELL: Record<string, string> = {};
for (const [kind, k] of Object.entries(KIND_STYLE)) {
  for (const priv of [false, true]) {
    CELL[`${kind}${priv ? '!' : ''}`] =
      `padding:6px 10px;white-space:pre-wrap;border-left:4px solid ${k.accent};background:${priv ? PRIVATE_BACKGROUND : k.background}${
        kind === 'system' ? ';text-align:center;font-style:italic' : ''
      }`;
  }
}
/** The role label, upper case in the kind's colour (kept short: it repeats on every line). */
const ROLE = (p: Pick<Participant, 'kind' | 'role'>) =>
  `<b style="color:${KIND_STYLE[p.kind].accent}">${escapeHtml(roleLabel(p).toUpperCase())}</b>`;
const NAME = (s: string) => `<b><bdi>${escapeHtml(s)}</bdi></b>`;
const BDI = (s: string) => `<bdi>${escapeHtml(s)}</bdi>`;
/** Message text: escaped, line breaks as <br> (Outlook ignores white-space:pre-wrap). */
const TEXT = (s: string) => {
  const e = escapeHtml(s);
  return e.includes('\n') ? e.replaceAll('\n', '<br>') : e;
};

function linkHtml(text: string, url: string | undefined): string {
  const safe = safeLink(url);
  if (!safe) return `${TEXT(text)}${url ? ` &lt;${TEXT(url)}&gt;` : ''}`;
  return `${TEXT(text)} &lt;<a href="${escapeHtml(safe)}">${TEXT(url ?? safe)}</a>&gt;`;
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

function partsHtml(parts: readonly MessagePart[]): string {
  let out = '';
  for (const part of parts) {
    switch (part.kind) {
      case 'text':
      case 'note':
        out += `<div dir="auto">${TEXT(part.text)}</div>`;
        break;
      case 'rich':
        out += `<div style="${S.meta}">[${escapeHtml(part.label)}]</div>`;
        for (const l of part.lines)
          out += `<div dir="auto">${escapeHtml(l.kind)}: ${linkHtml(l.text, l.url)}</div>`;
        break;
      case 'file':
        out += filePartHtml(part);
        break;
    }
  }
  return out;
}

/**
 * The start of every line of one sender (row, cell and the role and name), built once per participant:
 * it repeats on every message.
 */
function senderHtml(p: Participant, priv: boolean, cache: Map<Participant, string>[]): string {
  const map = cache[priv ? 1 : 0] as Map<Participant, string>;
  let html = map.get(p);
  if (html === undefined) {
    const k = KIND_STYLE[p.kind];
    html = `<tr>${k.side === 'right' ? '<td></td>' : ''}<td colspan="${k.side === 'across' ? 3 : 2}" style="${CELL[`${p.kind}${priv ? '!' : ''}`]}"><small>${ROLE(p)} · ${NAME(p.name)} · #`;
    map.set(p, html);
  }
  return html;
}

const PRIVATE_HTML = ` · <span style="color:${PRIVATE_ACCENT};font-weight:bold">${PRIVATE_MARK.toUpperCase()}</span>`;

function messageHtml(m: TranscriptMessage, cache: Map<Participant, string>[]): string {
  const tail = KIND_STYLE[m.sender.kind].side === 'left' ? '<td></td>' : '';
  return `${senderHtml(m.sender, m.private, cache)}${m.n} · ${timeOfDay(m.at)}${m.context ? ` · ${escapeHtml(m.context)}` : ''}${
    m.private ? PRIVATE_HTML : ''
  }</small>${partsHtml(m.parts)}</td>${tail}</tr>\r\n`;
}

/** "2024-03-04 09:15:02 UTC" → "09:15:02": the day is shown once, in a row of its own (dayRow). */
function timeOfDay(at: string): string {
  return at.length === 23 && at.endsWith(' UTC') ? at.slice(11, 19) : at;
}

function dayRow(at: string): string {
  return `<tr><td colspan="3" style="padding:8px 0 0;text-align:center;color:#4b5563;font-size:12px;font-weight:bold">${at.slice(0, 10)} (UTC)</td></tr>\r\n`;
}

function eventHtml(e: TranscriptEvent, h: string[]): void {
  h.push(
    `<tr><td colspan="3" style="${CELL.system}"><small>${ROLE({ kind: 'system', role: 'SYSTEM' })} · ${timeOfDay(e.at)}</small><div>`,
  );
  for (const p of e.pieces) h.push(typeof p === 'string' ? escapeHtml(p) : BDI(p.name));
  h.push('</div></td></tr>\r\n');
}

function heading(text: string): string {
  return `<tr><td style="${S.heading}">${escapeHtml(text)}</td></tr>\r\n`;
}

export function renderHtml(t: TranscriptModel): string {
  const h: string[] = [
    '<!DOCTYPE html>\r\n<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>',
    escapeHtml(t.title),
    `</title></head>\r\n<body style="${S.body}">\r\n<table role="presentation" cellpadding="0" cellspacing="0" style="${S.page}">\r\n`,
    `<tr><td dir="auto" style="${S.title}">`,
    escapeHtml(t.title),
    `</td></tr>\r\n<tr><td style="${S.cell}"><table role="presentation" cellpadding="0" cellspacing="0" style="${S.grid}">\r\n<tr><th width="28%"></th><th></th></tr>\r\n`,
  ];
  for (const [k, v] of t.facts) {
    h.push(`<tr><th style="${S.label}">${escapeHtml(k)}</th><td><bdi>${escapeHtml(v)}</bdi></td></tr>\r\n`);
  }
  h.push('</table></td></tr>\r\n', heading(`Participants (${t.participants.length})`));
  h.push(
    `<tr><td style="${S.cell}"><table role="presentation" cellpadding="0" cellspacing="0" style="${S.grid}">\r\n`,
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
      '</td></tr>\r\n',
    );
  }
  h.push('</table></td></tr>\r\n');
  for (const s of t.sections) {
    h.push(heading(s.heading), `<tr><td style="${S.cell}">`);
    for (const l of s.lines) h.push(`<div dir="auto" style="${S.text}">`, TEXT(l), '</div>');
    h.push('</td></tr>\r\n');
  }
  h.push(
    heading(`Messages (${t.messageCount})`),
    `<tr><td style="${S.cell}"><table role="presentation" cellpadding="0" cellspacing="0" style="width:100%;border-collapse:separate;border-spacing:0 6px;table-layout:fixed">\r\n`,
    '<tr><td width="12%" style="padding:0"></td><td width="76%" style="padding:0"></td><td width="12%" style="padding:0"></td></tr>\r\n',
  );
  const senders = [new Map<Participant, string>(), new Map<Participant, string>()];
  let day = '';
  for (const e of t.timeline) {
    if (e.at.length === 23 && e.at.slice(0, 10) !== day) {
      day = e.at.slice(0, 10);
      h.push(dayRow(e.at));
    }
    if (e.type === 'event') eventHtml(e, h);
    else h.push(messageHtml(e, senders));
  }
  h.push('</table></td></tr>\r\n', heading(`Files (${t.files.length})`), `<tr><td style="${S.cell}">`);
  h.push(`<table role="presentation" cellpadding="0" cellspacing="0" style="${S.grid}">\r\n`);
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
      `<div style="${S.meta}">from message #${m.n} · ${m.at} · ${BDI(m.sender.name)} (${escapeHtml(roleLabel(m.sender))})</div></td></tr>\r\n`,
    );
  });
  if (t.files.length === 0) h.push('<tr><td style="padding:4px 0;color:#4b5563">(none)</td></tr>\r\n');
  const s = t.source;
  h.push(
    '</table></td></tr>\r\n',
    heading('Source record'),
    `<tr><td style="${S.cell}">The complete record LivePerson returned is attached as <b>${BDI(s.filename)}</b> · application/json · ${byteSize(s.size)} · canonical JSON, keys sorted; its SHA-256 is the content version<div style="${S.mono}">SHA-256 ${s.sha256}</div></td></tr>\r\n`,
    `<tr><td style="${S.end}">${escapeHtml(endMarker(t))}</td></tr>\r\n</table>\r\n</body></html>\r\n`,
  );
  return h.join('');
}
