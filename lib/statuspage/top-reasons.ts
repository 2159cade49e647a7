/**
 * Counts failure reasons with bounded memory: at most `maxDistinct` reasons are kept apart; once full, a
 * new reason is counted under OTHER_REASONS. A burst of distinct reasons (each naming its conversation)
 * can therefore never grow the page's memory with the table.
 */
export const OTHER_REASONS = '(other reasons)';

export class TopReasons {
  private readonly counts = new Map<string, number>();
  private other = 0;
  total = 0;

  constructor(
    private readonly maxDistinct = 100,
    private readonly maxLength = 300,
  ) {}

  add(reason: string | undefined): void {
    this.total++;
    const key = normalise(reason, this.maxLength);
    const n = this.counts.get(key);
    if (n !== undefined) this.counts.set(key, n + 1);
    else if (this.counts.size < this.maxDistinct) this.counts.set(key, 1);
    else this.other++;
  }

  top(n: number): { reason: string; count: number }[] {
    const list = [...this.counts].map(([reason, count]) => ({ reason, count }));
    list.sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
    const out = list.slice(0, n);
    const rest = list.slice(n).reduce((s, r) => s + r.count, 0) + this.other;
    if (rest > 0) out.push({ reason: OTHER_REASONS, count: rest });
    return out;
  }
}

function normalise(reason: string | undefined, maxLength: number): string {
  const r = (reason ?? '').replace(/\s+/g, ' ').trim();
  if (!r) return '(no reason recorded)';
  return r.length > maxLength ? `${r.slice(0, maxLength - 1)}…` : r;
}
