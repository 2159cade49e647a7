/**
 * The human-readable transcript, built once as a small model and rendered twice: text/plain and a simple
 * inline-styled text/html that Outlook shows well. All conversation data is escaped in the HTML; links
 * become anchors only after validation as http(s)/mailto.
 */
import type { FileOutcome } from './attachments.js';
import type { Participant } from './participants.js';
import { roleLabel } from './participants.js';
import type { RichLine } from './rich-content.js';
import { escapeHtml, safeLink, utc } from './text.js';

export type MessagePart =
  | { kind: 'text'; text: string }
  | { kind: 'rich'; label: string; lines: RichLine[] }
  | { kind: 'file'; name: string; fileType?: string; outcome: FileOutcome }
  | { kind: 'note'; text: string };

export interface TranscriptMessage {
  time?: number;
  sender: Participant;
  private: boolean;
  /** e.g. "post-conversation survey" for messages outside the main dialog. */
  context?: string;
  parts: MessagePart[];
}

export interface TranscriptModel {
  title: string;
  /** Label/value rows of the header block; values are single-line, already cleaned. */
  facts: [string, string][];
  participants: Participant[];
  /** Free-text sections (transfers, summary, surveys): a heading and lines. */
  sections: { heading: string; lines: string[] }[];
  messages: TranscriptMessage[];
}

const PRIVATE_MARK = '[private: agents and managers only]';

function fileLine(p: Extract<MessagePart, { kind: 'file' }>): string {
  const type = p.fileType ? `, ${p.fileType}` : '';
  if (p.outcome.status === 'attached') return `[file] ${p.name}${type}: attached as ${p.outcome.filename}`;
  const preview = p.outcome.previewFilename ? `; preview attached as ${p.outcome.previewFilename}` : '';
  return `[file] ${p.name}${type}: not retrieved: ${p.outcome.reason}${preview}`;
}

function participantLine(p: Participant): string {
  const flags = [roleLabel(p.role), p.synthetic ? 'no known address' : '', p.deleted ? 'deleted user' : '']
    .filter(Boolean)
    .join(', ');
  return `${p.name} <${p.address}> (${flags})`;
}

function senderLine(m: TranscriptMessage): string {
  const extra = [m.context ? `[${m.context}]` : '', m.private ? PRIVATE_MARK : ''].filter(Boolean).join(' ');
  return `[${utc(m.time)}] ${m.sender.name} (${roleLabel(m.sender.role)})${extra ? ` ${extra}` : ''}:`;
}

export function renderText(t: TranscriptModel): string {
  const out: string[] = [t.title, '-'.repeat(Math.min(72, Math.max(8, t.title.length))), ''];
  for (const [k, v] of t.facts) out.push(`${k}: ${v}`);
  out.push('', 'Participants:');
  for (const p of t.participants) out.push(`  - ${participantLine(p)}`);
  for (const s of t.sections) {
    out.push('', `${s.heading}:`);
    for (const l of s.lines) out.push(`  ${l}`);
  }
  out.push('', `Messages (${t.messages.length}):`, '');
  for (const m of t.messages) {
    out.push(senderLine(m));
    for (const part of m.parts) {
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
          out.push(fileLine(part));
          break;
      }
    }
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

// Inline styles (Outlook ignores most <style> rules), kept short: they repeat for every message.
const S = {
  body: 'font-family:Segoe UI,Arial,sans-serif;font-size:14px;color:#222',
  msg: 'margin:0 0 10px;padding:4px 8px;border-left:3px solid #8aa',
  priv: 'margin:0 0 10px;padding:4px 8px;border-left:3px solid #c60;background:#fff6e8',
  meta: 'color:#555;font-size:12px',
  text: 'white-space:pre-wrap',
};

function linkHtml(text: string, url: string | undefined): string {
  const safe = safeLink(url);
  if (!safe) return `${escapeHtml(text)}${url ? ` &lt;${escapeHtml(url)}&gt;` : ''}`;
  return `${escapeHtml(text)} &lt;<a href="${escapeHtml(safe)}">${escapeHtml(url ?? safe)}</a>&gt;`;
}

export function renderHtml(t: TranscriptModel): string {
  const h: string[] = [
    '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>',
    escapeHtml(t.title),
    `</title></head>\n<body style="${S.body}">\n<h2 dir="auto">`,
    escapeHtml(t.title),
    '</h2>\n<table cellpadding="2" style="border-collapse:collapse">\n',
  ];
  for (const [k, v] of t.facts) {
    h.push(
      `<tr><th align="left" valign="top">${escapeHtml(k)}</th><td dir="auto">${escapeHtml(v)}</td></tr>\n`,
    );
  }
  h.push(`</table>\n<h3>Participants</h3>\n<ul>\n`);
  for (const p of t.participants) h.push(`<li dir="auto">${escapeHtml(participantLine(p))}</li>\n`);
  h.push('</ul>\n');
  for (const s of t.sections) {
    h.push(`<h3>${escapeHtml(s.heading)}</h3>\n<ul>\n`);
    for (const l of s.lines) h.push(`<li dir="auto" style="white-space:pre-wrap">${escapeHtml(l)}</li>\n`);
    h.push('</ul>\n');
  }
  h.push(`<h3>Messages (${t.messages.length})</h3>\n`);
  for (const m of t.messages) {
    h.push(
      `<div style="${m.private ? S.priv : S.msg}">\n<div style="${S.meta}" dir="auto">`,
      escapeHtml(senderLine(m)),
      '</div>\n',
    );
    for (const part of m.parts) {
      switch (part.kind) {
        case 'text':
        case 'note':
          h.push(`<div style="${S.text}" dir="auto">`, escapeHtml(part.text), '</div>\n');
          break;
        case 'rich':
          h.push(`<div style="${S.meta}">[${escapeHtml(part.label)}]</div>\n<ul>\n`);
          for (const l of part.lines) {
            h.push(
              `<li dir="auto" style="white-space:pre-wrap">${escapeHtml(l.kind)}: `,
              linkHtml(l.text, l.url),
              '</li>\n',
            );
          }
          h.push('</ul>\n');
          break;
        case 'file':
          h.push(`<div style="${S.text}" dir="auto">`, escapeHtml(fileLine(part)), '</div>\n');
          break;
      }
    }
    h.push('</div>\n');
  }
  h.push('</body></html>\n');
  return h.join('');
}
