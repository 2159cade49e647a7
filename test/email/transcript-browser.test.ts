/**
 * The HTML transcript as a reader sees it, in headless Chromium at 800 px: nothing runs off the page,
 * each kind of participant looks different, right-to-left names and file names are isolated, inline
 * images come from the message itself (cid: resolved from the attachments, as a mail client does) and
 * decode, and nothing is loaded from outside. Screenshots go to test-output/ for a person to look at.
 */
import { mkdir } from 'node:fs/promises';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConversionResult, convertConversation } from '../../lib/email/convert.js';
import { launchBrowser, type TestBrowser } from '../harness/browser.js';
import { readAll } from './eml-assertions.js';
import { imageProvider, longConversation, RTL, rtlConversation } from './transcript-fixtures.js';

const OUT = new URL('../../test-output/', import.meta.url).pathname;

let browser: TestBrowser;
beforeAll(async () => {
  browser = await launchBrowser();
  await mkdir(OUT, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
});

/** The HTML part with every cid: reference replaced by the attachment's bytes as a data: URL. */
async function htmlWithImages(r: ConversionResult): Promise<{ html: string; cids: string[] }> {
  const mail = await simpleParser(await readAll(r.eml), { skipImageLinks: true, skipTextToHtml: true });
  let html = typeof mail.html === 'string' ? mail.html : '';
  const cids = [...html.matchAll(/src="cid:([^"]+)"/g)].map((m) => m[1] as string);
  for (const cid of cids) {
    const a = mail.attachments.find((x) => x.cid === cid);
    expect(a, `attachment for cid:${cid}`).toBeDefined();
    // Inline images are still ordinary, named attachments (eDiscovery lists them).
    expect(a?.contentDisposition).toBe('attachment');
    expect(a?.filename).toBeTruthy();
    html = html.replaceAll(`cid:${cid}`, `data:${a?.contentType};base64,${a?.content.toString('base64')}`);
  }
  return { html, cids };
}

interface Rendered {
  scrollWidth: number;
  tags: string[];
  cells: { role: string; private: boolean; background: string; border: string; side: string }[];
  images: { complete: boolean; naturalWidth: number; width: number }[];
  /** Text that contains one of `names` but has no <bdi> ancestor. */
  unisolated: string[];
  bdi: string[];
}

// biome-ignore lint/suspicious/noExplicitAny: runs inside the page, where the DOM exists (no DOM types here)
type Dom = any;

/** Runs in the page: what the assertions need, measured by the browser itself. */
function probe(names: string[]) {
  const g: Dom = globalThis;
  const doc: Dom = g.document;
  const all = (sel: string): Dom[] => Array.from(doc.querySelectorAll(sel));
  const cells = all('td[colspan]').flatMap((td) => {
    const role: string = td.querySelector('small > b')?.textContent ?? '';
    if (!role) return [];
    const style = g.getComputedStyle(td);
    const row = td.parentElement;
    const side = row.cells[0] === td ? (td.getAttribute('colspan') === '3' ? 'across' : 'left') : 'right';
    return [
      {
        role: role.toLowerCase(),
        private: /PRIVATE/.test(td.textContent ?? ''),
        background: style.backgroundColor as string,
        border: style.borderLeftColor as string,
        side,
      },
    ];
  });
  const unisolated: string[] = [];
  const walker = doc.createTreeWalker(doc.body, 4 /* NodeFilter.SHOW_TEXT */);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const t: string = n.textContent ?? '';
    if (names.some((name) => t.includes(name)) && !n.parentElement?.closest('bdi')) unisolated.push(t);
  }
  return {
    scrollWidth: Math.max(doc.documentElement.scrollWidth, doc.body.scrollWidth),
    tags: all('script, link, iframe, object, embed, style').map((e) => e.tagName as string),
    cells,
    images: Array.from(doc.images as Dom[]).map((i) => ({
      complete: i.complete as boolean,
      naturalWidth: i.naturalWidth as number,
      width: i.getBoundingClientRect().width as number,
    })),
    unisolated,
    bdi: all('bdi').map((b) => (b.textContent ?? '') as string),
  };
}

async function render(r: ConversionResult, screenshot: string, names: string[]): Promise<Rendered> {
  const { html, cids } = await htmlWithImages(r);
  const { page, requests } = await browser.newPage({ width: 800, height: 900 });
  try {
    await page.setContent(html, { waitUntil: 'load' });
    await page.screenshot({ path: `${OUT}${screenshot}`, fullPage: true });
    const rendered = (await page.evaluate(probe, names)) as Rendered;
    expect(requests, 'requests that left the page').toEqual([]);
    expect(rendered.images).toHaveLength(cids.length);
    return rendered;
  } finally {
    await page.close();
  }
}

describe('the HTML transcript in Chromium', () => {
  it('a long conversation: fits 800 px, every kind of line distinct, images shown, nothing loaded', async () => {
    const r = await convertConversation(longConversation(), { files: imageProvider });
    const names = [...r.participants.map((p) => p.name), ...r.files.map((f) => f.name)];
    const page = await render(r, 'transcript-long.png', names);

    expect(page.scrollWidth).toBeLessThanOrEqual(800);
    expect(page.tags).toEqual([]);
    // Inline images decode and display within the page.
    expect(page.images.length).toBe(r.files.filter((f) => f.inline).length);
    expect(page.images.length).toBeGreaterThanOrEqual(3);
    for (const img of page.images) {
      expect(img.complete).toBe(true);
      expect(img.naturalWidth).toBeGreaterThan(0);
      expect(img.width).toBeLessThanOrEqual(800);
    }
    // One look per kind (colour and side), the same for every line of that kind, all four different.
    const look = (role: string) => {
      const cells = page.cells.filter((c) => c.role === role && !c.private);
      expect(cells.length, `lines of ${role}`).toBeGreaterThan(0);
      const looks = new Set(cells.map((c) => `${c.background}|${c.border}|${c.side}`));
      expect(looks.size, `one look for ${role}`).toBe(1);
      return [...looks][0] as string;
    };
    const kinds = {
      consumer: look('consumer'),
      agent: look('assigned agent'),
      bot: look('bot'),
      system: look('system'),
    };
    expect(new Set(Object.values(kinds)).size).toBe(4);
    expect(kinds.consumer).toMatch(/\|left$/);
    expect(kinds.agent).toMatch(/\|right$/);
    expect(kinds.system).toMatch(/\|across$/);
    // A manager is an agent-side line; a private note stands out from the rest.
    const privateNote = page.cells.find((c) => c.private);
    expect(privateNote?.role).toBe('manager');
    expect(privateNote?.border).toBe(kinds.agent.split('|')[1]);
    expect(privateNote?.side).toBe('right');
    expect(privateNote?.background).not.toBe(kinds.agent.split('|')[0]);
    // Names and file names are isolated wherever they appear.
    expect(page.unisolated).toEqual([]);
    for (const n of names) expect(page.bdi).toContain(n);
  });

  it('right-to-left names and file names are isolated', async () => {
    const r = await convertConversation(rtlConversation(), { files: imageProvider });
    const names = [RTL.agentName, RTL.consumerName, RTL.fileName, RTL.pdfName];
    const page = await render(r, 'transcript-rtl.png', names);
    expect(page.scrollWidth).toBeLessThanOrEqual(800);
    expect(page.unisolated).toEqual([]);
    for (const n of names) expect(page.bdi).toContain(n);
    expect(page.images).toHaveLength(1);
    expect(page.images[0]?.naturalWidth).toBe(300);
  });
});
