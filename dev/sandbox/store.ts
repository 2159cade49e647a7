/**
 * The sandbox's conversations: a small summary per conversation (id, start, close, survey end and the sorted
 * instants at which it changes) plus the runtime changes. Full records are rebuilt on demand from the plan,
 * which is a pure function of the seed, so 10,000 conversations cost a few MB and no file bytes.
 */
import { type FileSizes, fileBytes } from './files.js';
import { type Plan, planConversation, planTimes } from './plan.js';
import { hashSeed, mulberry32 } from './prng.js';
import { effectiveRedactL, type RuntimeChanges, renderRecord, statusAsOf, visibleFiles } from './render.js';

interface Meta {
  index: number;
  id: string;
  startL: number;
  /** Close, survey start and last survey answer (NaN when none): status without rebuilding the plan. */
  closeL: number;
  surveyStartL: number;
  surveyEndL: number;
  times: Float64Array;
}

export interface RenderRequest {
  asOf: number;
  byId: boolean;
  content: ReadonlySet<string>;
}

const PLAN_CACHE = 2000;

/** What a test changed about a generated conversation before it existed: its ID, and that it closes. */
interface PlanOverride {
  id?: string;
  closed?: boolean;
}

export class ConversationStore {
  private readonly metas: Meta[] = [];
  private readonly byId = new Map<string, Meta>();
  private readonly changes = new Map<string, RuntimeChanges>();
  private readonly plans = new Map<number, Plan>();
  private readonly overrides = new Map<number, PlanOverride>();
  /** Per conversation: relativePath as generated → relativePath as shown and stored. */
  private readonly renames = new Map<string, Map<string, string>>();

  constructor(
    readonly seed: number,
    readonly accountId: string,
    readonly fileSizes: FileSizes,
  ) {}

  /** Conversations starting within the spanMs before `now`, at seeded instants. */
  generateSpread(count: number, now: number, spanMs: number): string[] {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const index = this.metas.length;
      const u = mulberry32(hashSeed(this.seed, `start:${index}`))();
      ids.push(this.addMeta(index, now - Math.floor(u * spanMs)));
    }
    return ids;
  }

  /** Conversations starting at `now` (one millisecond apart so their order is stable). */
  generateAt(count: number, now: number): string[] {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const index = this.metas.length;
      ids.push(this.addMeta(index, now + i));
    }
    return ids;
  }

  /**
   * Conversations with the given IDs (exactly as given: whitespace, lone surrogates, any length), starting
   * at `startL`, one millisecond apart; `closed` makes each one close even if its plan would stay open.
   */
  generateWithIds(ids: readonly string[], startL: number, closed: boolean): string[] {
    for (const id of ids)
      if (this.byId.has(id)) throw new Error(`sandbox: conversation id already used: ${JSON.stringify(id)}`);
    if (new Set(ids).size !== ids.length) throw new Error('sandbox: the ids given repeat');
    return ids.map((id, i) => {
      const index = this.metas.length;
      this.overrides.set(index, { id, closed });
      return this.addMeta(index, startL + i);
    });
  }

  /** A plan with the overrides and file renames applied: what every view of the conversation is built from. */
  private build(index: number, startL: number): Plan {
    const plan = planConversation(this.seed, this.accountId, index, startL);
    const o = this.overrides.get(index);
    if (o?.id !== undefined) plan.conversationId = o.id;
    if (o?.closed && plan.closeL === undefined) {
      plan.closeL = (plan.messages.at(-1)?.t ?? startL) + 60_000;
    }
    const renamed = this.renames.get(plan.conversationId);
    if (renamed) {
      for (const m of plan.messages) {
        const to = m.file && renamed.get(m.file.relativePath);
        if (m.file && to !== undefined) m.file = { ...m.file, relativePath: to };
      }
    }
    return plan;
  }

  private addMeta(index: number, startL: number): string {
    const plan = this.build(index, startL);
    const answers = plan.survey?.answers ?? [];
    const meta: Meta = {
      index,
      id: plan.conversationId,
      startL,
      closeL: plan.closeL ?? Number.NaN,
      surveyStartL: plan.survey?.startL ?? Number.NaN,
      surveyEndL: answers[answers.length - 1]?.t ?? Number.NaN,
      times: Float64Array.from(planTimes(plan)),
    };
    this.metas.push(meta);
    this.byId.set(meta.id, meta);
    return meta.id;
  }

  ids(): string[] {
    return this.metas.map((m) => m.id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  private plan(meta: Meta): Plan {
    let plan = this.plans.get(meta.index);
    if (!plan) {
      plan = this.build(meta.index, meta.startL);
      if (this.plans.size >= PLAN_CACHE) this.plans.delete(this.plans.keys().next().value!);
      this.plans.set(meta.index, plan);
    }
    return plan;
  }

  private meta(id: string): Meta {
    const meta = this.byId.get(id);
    if (!meta) throw new Error(`sandbox: no conversation '${id}'`);
    return meta;
  }

  private changesOf(id: string): RuntimeChanges {
    let c = this.changes.get(id);
    if (!c) {
      c = { corruptions: [], removedFiles: new Set(), lateSurveys: [] };
      this.changes.set(id, c);
    }
    return c;
  }

  /** All conversations that exist as of an instant (started at or before it). */
  *existing(asOf: number): Iterable<{ id: string; startL: number }> {
    for (const m of this.metas) if (m.startL <= asOf) yield m;
  }

  startL(id: string): number {
    return this.meta(id).startL;
  }

  /** The latest change at or before asOf (what `latestUpdateTime` filters on). */
  lastUpdateTime(id: string, asOf: number): number | undefined {
    const meta = this.meta(id);
    if (meta.startL > asOf) return undefined;
    const t = meta.times;
    let lo = 0;
    let hi = t.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (t[mid]! <= asOf) lo = mid;
      else hi = mid - 1;
    }
    let last = t[lo]!;
    const c = this.changes.get(id);
    for (const extra of [...(c?.lateSurveys ?? []), c?.redactL]) {
      if (extra !== undefined && extra <= asOf && extra > last) last = extra;
    }
    return last;
  }

  status(id: string, asOf: number): { status: 'OPEN' | 'CLOSE'; endL: number } {
    const meta = this.meta(id);
    if (this.changes.get(id)?.lateSurveys.length)
      return statusAsOf(this.plan(meta), this.changes.get(id), asOf);
    // Same rules as render.ts derive(), from the summary alone (searches filter thousands of these).
    if (!(meta.closeL <= asOf)) return { status: 'OPEN', endL: -1 };
    if (!(meta.surveyStartL <= asOf)) return { status: 'CLOSE', endL: meta.closeL };
    return { status: 'CLOSE', endL: meta.surveyEndL <= asOf ? meta.surveyEndL : meta.closeL };
  }

  render(id: string, r: RenderRequest): Record<string, unknown> | undefined {
    const meta = this.byId.get(id);
    if (!meta || meta.startL > r.asOf) return undefined;
    return renderRecord(this.plan(meta), this.changes.get(id), {
      seed: this.seed,
      accountId: this.accountId,
      asOf: r.asOf,
      byId: r.byId,
      content: r.content,
    });
  }

  redact(id: string, now: number): void {
    this.meta(id);
    const c = this.changesOf(id);
    if (c.redactL === undefined || c.redactL > now) c.redactL = now;
  }

  addLateSurvey(id: string, now: number): void {
    const plan = this.plan(this.meta(id));
    if (plan.closeL === undefined || plan.closeL > now) {
      throw new Error(
        `sandbox: conversation '${id}' is still open; a post-conversation survey needs it closed`,
      );
    }
    const late = this.changesOf(id).lateSurveys;
    // Two answers in the same millisecond would be indistinguishable: keep instants strictly increasing.
    late.push(Math.max(now, (late[late.length - 1] ?? Number.NEGATIVE_INFINITY) + 1));
  }

  // biome-ignore lint/suspicious/noExplicitAny: a raw record is untyped JSON; tests mutate it freely
  corrupt(id: string, mutate: (raw: any) => void): void {
    this.meta(id);
    this.changesOf(id).corruptions.push(mutate);
  }

  removeFile(id: string, relativePath: string): void {
    this.meta(id);
    this.changesOf(id).removedFiles.add(relativePath);
  }

  /** Shows (and stores) a file under another relativePath from now on, e.g. to make two names collide. */
  renameFile(id: string, from: string, to: string): void {
    const meta = this.meta(id);
    const generated =
      [...(this.renames.get(id) ?? new Map<string, string>())].find(([, shown]) => shown === from)?.[0] ??
      from;
    const map = this.renames.get(id) ?? new Map<string, string>();
    map.set(generated, to);
    this.renames.set(id, map);
    this.plans.delete(meta.index);
  }

  private readonly bulkFailures = new Set<string>();

  failBulkDownload(id: string, fail: boolean): void {
    this.meta(id);
    if (fail) this.bulkFailures.add(id);
    else this.bulkFailures.delete(id);
  }

  bulkDownloadFails(id: string): boolean {
    return this.bulkFailures.has(id);
  }

  /** Hosted files still in storage as of an instant: shown in the record, not removed, not redacted. */
  storedFiles(id: string, asOf: number): string[] {
    const meta = this.meta(id);
    const plan = this.plan(meta);
    const c = this.changes.get(id);
    const redactL = effectiveRedactL(plan, c);
    if (redactL !== undefined && redactL <= asOf) return [];
    return visibleFiles(plan, asOf).filter((p) => !c?.removedFiles.has(p));
  }

  /** Every hosted file the conversation ever references (regardless of the clock). */
  allFiles(id: string): string[] {
    return visibleFiles(this.plan(this.meta(id)), Number.POSITIVE_INFINITY);
  }

  fileBytes(relativePath: string): Buffer {
    return fileBytes(this.seed, relativePath, this.fileSizes);
  }
}
