/**
 * Readable lines from LivePerson structured content (rich content cards, quick replies). The content
 * arrives as a JSON string; we walk the element tree and keep what a reader needs as evidence: texts,
 * titles, button labels, links and images. Invalid JSON is shown raw (the renderers escape it).
 */
import { normaliseText } from './text.js';

export interface RichLine {
  /** text, title, button, link, image, map, raw */
  kind: string;
  text: string;
  /** An http(s)/mailto target, shown as text; the HTML renderer decides whether it may be a link. */
  url?: string;
}

const MAX_DEPTH = 32;
const MAX_LINES = 500;

export function richContentLines(content: unknown): RichLine[] {
  let tree: unknown = content;
  if (typeof content === 'string') {
    try {
      tree = JSON.parse(content);
    } catch {
      return [{ kind: 'raw', text: normaliseText(content) }];
    }
  }
  const out: RichLine[] = [];
  walk(tree, out, 0);
  if (out.length === 0 && typeof content === 'string' && content.trim()) {
    out.push({ kind: 'raw', text: normaliseText(content) });
  }
  return out;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() ? normaliseText(v) : undefined;
}

/** Adds a line unless it repeats the previous text (a quick reply's publishText echoes its title). */
function push(out: RichLine[], line: RichLine): void {
  const last = out[out.length - 1];
  if (last && last.text === line.text && !line.url) return;
  out.push(line);
}

function walk(node: unknown, out: RichLine[], depth: number): void {
  if (depth > MAX_DEPTH || out.length >= MAX_LINES || node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const n of node) walk(n, out, depth + 1);
    return;
  }
  const el = node as Record<string, unknown>;
  const type = typeof el.type === 'string' ? el.type.toLowerCase() : '';
  const text = str(el.text);
  const title = str(el.title);
  switch (type) {
    case 'button':
    case 'quickreply':
      if (title ?? text) push(out, { kind: 'button', text: (title ?? text) as string });
      break;
    case 'image':
      push(out, {
        kind: 'image',
        text: str(el.caption) ?? title ?? str(el.tooltip) ?? 'image',
        url: str(el.url),
      });
      break;
    case 'map':
      push(out, {
        kind: 'map',
        text: `${String(el.la ?? '?')}, ${String(el.lo ?? '?')}${title ? ` (${title})` : ''}`,
      });
      break;
    case 'link':
      if (str(el.uri) ?? str(el.url))
        push(out, { kind: 'link', text: str(el.name) ?? text ?? 'link', url: str(el.uri) ?? str(el.url) });
      break;
    default:
      if (title) push(out, { kind: 'title', text: title });
      if (text) push(out, { kind: 'text', text });
  }
  // Children: elements, replies, click actions and any other nested containers.
  for (const [key, value] of Object.entries(el)) {
    if (key === 'metadata' || value === null || typeof value !== 'object') continue;
    walk(value, out, depth + 1);
  }
}
