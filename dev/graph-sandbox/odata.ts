/**
 * The slices of OData query syntax the sandbox understands, parsed strictly: the users `$filter` forms the
 * archiver needs (eq/in on mail and userPrincipalName, proxyAddresses/any(x:x eq '…'), joined with `or`),
 * a single `prop eq '…'` for Outlook collections, `$select`, `$top`, `$skip`. Anything else is refused the
 * way Graph refuses it, so a client cannot come to depend on a query Graph would not run.
 */
import { GraphError } from './errors.js';

/** Entra refuses more than 15 child clauses under `or` (and in `in`); public reports quote the message. */
export const MAX_OR_CLAUSES = 15;

class Cursor {
  i = 0;
  constructor(readonly text: string) {}
  ws(): void {
    while (this.i < this.text.length && /\s/.test(this.text[this.i]!)) this.i++;
  }
  done(): boolean {
    this.ws();
    return this.i >= this.text.length;
  }
  /** Consumes `word` (case-insensitive) when it is next; keywords must end at a non-identifier char. */
  take(word: string, keyword = false): boolean {
    this.ws();
    const slice = this.text.slice(this.i, this.i + word.length);
    if (slice.toLowerCase() !== word.toLowerCase()) return false;
    const after = this.text[this.i + word.length];
    if (keyword && after !== undefined && /[A-Za-z0-9_]/.test(after)) return false;
    this.i += word.length;
    return true;
  }
  identifier(): string | undefined {
    this.ws();
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.i));
    if (!m) return undefined;
    this.i += m[0].length;
    return m[0];
  }
  /** An OData string literal: '…' with '' for a quote inside. */
  literal(): string | undefined {
    this.ws();
    if (this.text[this.i] !== "'") return undefined;
    let out = '';
    let j = this.i + 1;
    for (;;) {
      const c = this.text[j];
      if (c === undefined) return undefined;
      if (c === "'") {
        if (this.text[j + 1] === "'") {
          out += "'";
          j += 2;
          continue;
        }
        this.i = j + 1;
        return out;
      }
      out += c;
      j++;
    }
  }
}

export type UserPredicate = { property: 'mail' | 'userPrincipalName' | 'proxyAddresses'; value: string };

const unsupportedUsers = (detail: string) =>
  new GraphError(
    400,
    'Request_UnsupportedQuery',
    `Unsupported or invalid query filter clause specified: ${detail}`,
  );

/** `mail eq 'a' or userPrincipalName in ('b','c') or proxyAddresses/any(x:x eq 'smtp:d')`. */
export function parseUsersFilter(text: string): UserPredicate[] {
  const c = new Cursor(text);
  const out: UserPredicate[] = [];
  for (;;) {
    const open = c.take('(');
    out.push(...userClause(c));
    if (open && !c.take(')')) throw unsupportedUsers(`missing ')' at position ${c.i}`);
    if (c.done()) break;
    if (!c.take('or', true)) {
      throw unsupportedUsers(`only 'or' may join clauses here; found '${c.text.slice(c.i, c.i + 12)}'`);
    }
  }
  if (out.length > MAX_OR_CLAUSES) {
    throw new GraphError(
      400,
      'Request_UnsupportedQuery',
      `Too many child clauses specified in search filter expression containing 'OR' operators: ${out.length}. Max allowed: ${MAX_OR_CLAUSES}.`,
    );
  }
  return out;
}

function userClause(c: Cursor): UserPredicate[] {
  const start = c.i;
  const name = c.identifier();
  if (!name) throw unsupportedUsers(`expected a property at position ${start}`);
  const lower = name.toLowerCase();
  if (lower === 'proxyaddresses') {
    if (!c.take('/any('))
      throw unsupportedUsers("proxyAddresses needs the lambda form proxyAddresses/any(x:x eq '…')");
    const v = c.identifier();
    if (!v || !c.take(':')) throw unsupportedUsers('malformed any() lambda');
    const v2 = c.identifier();
    if (v2 !== v || !c.take('eq', true))
      throw unsupportedUsers(`only '${v}:${v} eq '…'' is supported inside any()`);
    const value = c.literal();
    if (value === undefined || !c.take(')')) throw unsupportedUsers('malformed any() lambda');
    return [{ property: 'proxyAddresses', value }];
  }
  const property =
    lower === 'mail' ? 'mail' : lower === 'userprincipalname' ? 'userPrincipalName' : undefined;
  if (!property) throw unsupportedUsers(`property '${name}' is not supported by the sandbox's users filter`);
  if (c.take('eq', true)) {
    const value = c.literal();
    if (value === undefined) throw unsupportedUsers(`expected a quoted string after '${name} eq'`);
    return [{ property, value }];
  }
  if (c.take('in', true)) {
    if (!c.take('(')) throw unsupportedUsers(`expected '(' after '${name} in'`);
    const values: UserPredicate[] = [];
    do {
      const value = c.literal();
      if (value === undefined) throw unsupportedUsers(`expected a quoted string in '${name} in (…)'`);
      values.push({ property, value });
    } while (c.take(','));
    if (!c.take(')')) throw unsupportedUsers(`expected ')' to close '${name} in (…)'`);
    return values;
  }
  throw unsupportedUsers(`operator after '${name}' is not supported (eq and in only)`);
}

/** Exactly `<property> eq '<value>'` (Outlook collections); property names match case-insensitively. */
export function parseSingleEq(text: string, property: string): string {
  const c = new Cursor(text);
  const open = c.take('(');
  const name = c.identifier();
  const ok = name?.toLowerCase() === property.toLowerCase() && c.take('eq', true);
  const value = ok ? c.literal() : undefined;
  if (value === undefined || (open && !c.take(')')) || !c.done()) {
    throw new GraphError(
      400,
      'ErrorInvalidUrlQueryFilter',
      `The query filter contains one or more invalid nodes. The sandbox supports only "${property} eq '…'" here.`,
    );
  }
  return value;
}

export function parseSelect(raw: string | null): string[] | undefined {
  if (raw === null) return undefined;
  const items = raw.split(',').map((s) => s.trim());
  if (items.some((s) => !/^[A-Za-z@][A-Za-z0-9_.@/-]*$/.test(s))) {
    throw new GraphError(400, 'BadRequest', `Invalid $select: '${raw}'.`);
  }
  return items;
}

export function parseTop(raw: string | null, max: number, def: number): number {
  if (raw === null) return def;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1) throw new GraphError(400, 'BadRequest', `Invalid $top value '${raw}'.`);
  if (n > max)
    throw new GraphError(
      400,
      'BadRequest',
      `Invalid page size specified: '${raw}'. Must be between 1 and ${max} inclusive.`,
    );
  return n;
}

export function parseSkip(raw: string | null): number {
  if (raw === null) return 0;
  if (!/^\d+$/.test(raw)) throw new GraphError(400, 'BadRequest', `Invalid $skip value '${raw}'.`);
  return Number(raw);
}

/** Refuses any `$option` not in `allowed` (and the `$`-less spellings, which Graph's v1.0 does not need). */
export function allowOnly(
  params: URLSearchParams,
  allowed: readonly string[],
  notImplemented: readonly string[] = [],
): void {
  for (const key of params.keys()) {
    if (!key.startsWith('$')) continue;
    if (allowed.includes(key)) continue;
    if (notImplemented.includes(key)) {
      throw new GraphError(
        501,
        'SandboxNotImplemented',
        `The Graph sandbox does not implement '${key}' on this resource.`,
      );
    }
    throw new GraphError(400, 'BadRequest', `Query option '${key}' is not allowed on this resource.`);
  }
}
