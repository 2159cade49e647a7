import path from 'node:path';
import type { Logger } from '../../lib/log.js';
import { defaultGraphUsers, startGraphSandbox } from '../graph-sandbox/index.js';
import { startSandbox } from '../sandbox/index.js';
import type { LocalData } from './local-data.js';
import { needsSandbox, sandboxSize } from './local-settings.js';

/**
 * A local stand-in for an outside system that `npm start` runs when the settings do not configure the
 * real one (the LivePerson sandbox; later the Microsoft Graph sandbox). Adding one is one more entry in
 * the list `npm start` passes to startLocalApp.
 */
export interface LocalService {
  name: string;
  /** Runs under these settings? (e.g. no LivePerson credentials configured) */
  wanted(settings: Readonly<Record<string, string>>): boolean;
  start(ctx: {
    settings: Readonly<Record<string, string>>;
    data: LocalData;
    logger: Logger;
  }): Promise<StartedService>;
  /** Banner lines when it is not wanted (what is used instead). */
  notWantedBanner?: string[];
}

export interface StartedService {
  /** App settings it provides; they override the configured ones (e.g. LP_CSDS_URL and credentials). */
  env: Record<string, string>;
  /** Banner lines, e.g. "LivePerson:      local sandbox at http://127.0.0.1:…". */
  banner: string[];
  stop(): Promise<void> | void;
}

/** SANDBOX_SEED: a whole number (default 1); the same seed gives the same conversations. */
export function sandboxSeed(settings: Readonly<Record<string, string>>): number {
  const raw = settings.SANDBOX_SEED;
  if (raw === undefined || raw.trim() === '') return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 32 - 1)
    throw new Error(`SANDBOX_SEED: "${raw}" is not a whole number between 0 and 4294967295`);
  return n;
}

/** The LivePerson sandbox, when no LivePerson credentials are configured (or LP_USE_SANDBOX=true). */
export const livePersonSandbox: LocalService = {
  name: 'LivePerson sandbox',
  wanted: needsSandbox,
  notWantedBanner: ['LivePerson:      the account configured in your settings'],
  async start({ settings, data }) {
    const conversations = sandboxSize(settings);
    const seed = sandboxSeed(settings);
    // The same anchor on every start: the same conversations at the same times, so a restart changes nothing.
    const handle = await startSandbox({ conversations, seed, anchor: data.sandboxAnchor(Date.now()) });
    return {
      env: handle.env,
      banner: [
        `LivePerson:      local sandbox at ${handle.url} (${conversations} conversations, seed ${seed}; SANDBOX_CONVERSATIONS and SANDBOX_SEED change them)`,
      ],
      stop: () => handle.stop(),
    };
  },
};

/** A placeholder like "<tenant id>" or "changeme" counts as not configured. */
const unset = (v: string | undefined) => !v?.trim() || /^<.*>$|^(changeme|todo|xxx+)$/i.test(v.trim());

/**
 * The Microsoft Graph sandbox, when no Graph tenant is configured (or GRAPH_USE_SANDBOX=true): a mailbox
 * for every LivePerson sandbox agent plus a fallback mailbox, each mirrored to
 * `archive-local/mailboxes/<address>/Inbox/LivePerson Conversational Cloud DataParser/` as .eml files.
 * Its mailboxes live in memory: after a restart the delivery log (kept with the rest of the data) says
 * what was delivered, and the mirror on disk still shows it.
 */
export const graphSandbox: LocalService = {
  name: 'Microsoft Graph sandbox',
  wanted: (s) => /^(1|true|yes)$/i.test(s.GRAPH_USE_SANDBOX ?? '') || unset(s.GRAPH_TENANT_ID),
  notWantedBanner: [
    'Mailboxes:       the Microsoft 365 tenant configured in your settings (GRAPH_TENANT_ID)',
  ],
  async start({ settings, data }) {
    const mirrorDir = path.join(data.archiveDir, 'mailboxes');
    const users = defaultGraphUsers();
    const fallback =
      users.find((u) => u.userPrincipalName.startsWith('archive-fallback@'))?.mail ?? undefined;
    const handle = await startGraphSandbox({ seed: sandboxSeed(settings), users, mirrorDir });
    const rel = path.relative(process.cwd(), mirrorDir) || '.';
    return {
      env: {
        ...handle.env,
        // Items none of whose participants has a mailbox land here instead of staying unmapped.
        ...(fallback && unset(settings.FALLBACK_MAILBOX) ? { FALLBACK_MAILBOX: fallback } : {}),
      },
      banner: [
        `Mailboxes:       local Microsoft Graph sandbox at ${handle.url} (${handle.users.length} users: every sandbox agent, and ${fallback ?? 'no'} fallback)`,
        `  Mailbox copies: ${rel}/<address>/Inbox/${settings.MAILBOX_FOLDER || 'LivePerson Conversational Cloud DataParser'}/`,
      ],
      stop: () => handle.stop(),
    };
  },
};
