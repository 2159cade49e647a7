/**
 * A tagged template for HTML in which every interpolated value is escaped unless it is already HTML built
 * by this same template: escaping is the default, so a value from the data cannot be forgotten. (A
 * template engine would add a dependency and a second syntax for a page this small.)
 */
import { escapeHtml } from '../email/text.js';

export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type HtmlPart = SafeHtml | string | number | undefined | null | false | readonly HtmlPart[];

function part(v: HtmlPart): string {
  if (v === undefined || v === null || v === false) return '';
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(part).join('');
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: HtmlPart[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += part(values[i]) + (strings[i + 1] ?? '');
  return new SafeHtml(out);
}

/** Whole numbers with thousands separators (1,234), the same in every locale the server may run in. */
export function num(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: 0 });
}

/** "2026-12-04 17:05 UTC" */
export function utcMinute(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** A duration for people: "45 s", "4 min", "2 h 5 min", "3 d 4 h". */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return min % 60 ? `${h} h ${min % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}
