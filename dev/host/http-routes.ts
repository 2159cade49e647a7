/**
 * An HTTP trigger route template as the host reads it ("log", "log/{kind?}", "items/{id:int}",
 * "files/{*path}"), matched case-insensitively against the path below the route prefix. Constraints
 * are checked for the common types (int, alpha, guid); others are accepted as plain segments.
 */
export interface RouteMatcher {
  template: string;
  match(path: string): Record<string, string> | undefined;
}

const CONSTRAINTS: Record<string, RegExp> = {
  int: /^-?\d+$/,
  long: /^-?\d+$/,
  alpha: /^[a-z]+$/i,
  guid: /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i,
  bool: /^(true|false)$/i,
};

interface Segment {
  literal?: string;
  param?: string;
  optional?: boolean;
  catchAll?: boolean;
  constraint?: RegExp;
}

export function compileRoute(template: string): RouteMatcher {
  const segments: Segment[] = template
    .replace(/^\/+|\/+$/g, '')
    .split('/')
    .filter((s) => s.length > 0)
    .map((raw) => {
      const m = /^\{(\*)?([A-Za-z_][\w]*)(?::([A-Za-z]+)(?:\([^)]*\))?)?(\?)?\}$/.exec(raw);
      if (!m) {
        if (raw.includes('{')) throw new Error(`route "${template}": segment "${raw}" is not supported`);
        return { literal: raw.toLowerCase() };
      }
      const constraint = m[3] ? CONSTRAINTS[m[3].toLowerCase()] : undefined;
      return {
        param: m[2]!,
        ...(m[1] ? { catchAll: true } : {}),
        ...(m[4] ? { optional: true } : {}),
        ...(constraint ? { constraint } : {}),
      };
    });
  return {
    template,
    match(path) {
      const parts = path
        .replace(/^\/+|\/+$/g, '')
        .split('/')
        .filter((s) => s.length > 0);
      const params: Record<string, string> = {};
      for (const [i, seg] of segments.entries()) {
        if (seg.catchAll) {
          const rest = parts.slice(i).map(decodeURIComponent).join('/');
          if (rest) params[seg.param!] = rest;
          return params;
        }
        const part = parts[i];
        if (part === undefined) {
          if (seg.optional && segments.slice(i + 1).every((s) => s.optional || s.catchAll)) return params;
          return undefined;
        }
        const value = decodeURIComponent(part);
        if (seg.literal !== undefined) {
          if (value.toLowerCase() !== seg.literal) return undefined;
        } else {
          if (seg.constraint && !seg.constraint.test(value)) return undefined;
          params[seg.param!] = value;
        }
      }
      return parts.length === segments.length ? params : undefined;
    },
  };
}
