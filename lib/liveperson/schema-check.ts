/**
 * A zod schema compiled into a checking function that validates a value in place: the same rules as
 * `schema.safeParse`, but nothing is copied and no output is built.
 *
 * Why not safeParse: zod builds a new object for every object it parses, and a conversation record is
 * validated once per conversion, so that copy was a measurable share of converting on one thread
 * (lib/email/README.md, "Speed"); Ajv over zod's own JSON Schema measured slower still on this schema.
 * The schema stays the one definition (and the source of the types); this compiles the small vocabulary
 * the record schema uses (objects, arrays, unions, optional, nullable, strings with patterns, numbers,
 * integers, booleans, null, enums, literals, unknown) and refuses anything else when it is compiled, so a
 * schema change can never be checked loosely by accident. A property test holds it equal to safeParse.
 */
import type { z } from 'zod';

/** Where a value is wrong: the path of the field and what was expected there. */
export interface SchemaProblem {
  path: (string | number)[];
  /** What the schema's description (or its type) says belongs there, e.g. "number". */
  expected: string;
  /** What is there: string, number, object, array, null, undefined, … */
  received: string;
}

/** Returns the problem with its path relative to `v` (filled in on the way out, so checking costs no path). */
type Check = (v: unknown) => SchemaProblem | undefined;

// biome-ignore lint/suspicious/noExplicitAny: zod's definitions are read generically (zod 4 `_zod.def`)
type AnyDef = any;

export function receivedType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number' && !Number.isFinite(v)) return 'non-finite number';
  return typeof v;
}

const problem = (expected: string, v: unknown): SchemaProblem => ({
  path: [],
  expected,
  received: receivedType(v),
});

function compile(schema: z.ZodType, described?: string): Check {
  const def: AnyDef = (schema as AnyDef)._zod.def;
  const expected = described ?? (schema as { description?: string }).description;
  const label = (fallback: string) => expected ?? fallback;
  switch (def.type) {
    case 'optional': {
      const inner = compile(def.innerType, expected);
      return (v) => (v === undefined ? undefined : inner(v));
    }
    case 'nullable': {
      const inner = compile(def.innerType, expected);
      return (v) => (v === null ? undefined : inner(v));
    }
    case 'string': {
      const patterns: RegExp[] = (def.checks ?? []).map((c: AnyDef) => {
        const d = c._zod.def;
        if (d.check === 'string_format' && d.format === 'regex') return d.pattern as RegExp;
        throw new Error(`schema-check: unsupported string check ${d.check}/${d.format}`);
      });
      const name = label('string');
      return (v) => {
        if (typeof v !== 'string') return problem(name, v);
        for (const p of patterns) {
          p.lastIndex = 0;
          if (!p.test(v)) return problem(name, v);
        }
        return undefined;
      };
    }
    case 'number': {
      let integer = false;
      for (const c of def.checks ?? []) {
        const d = c._zod.def;
        if (d.check === 'number_format' && d.format === 'safeint') integer = true;
        else throw new Error(`schema-check: unsupported number check ${d.check}/${d.format}`);
      }
      const name = label(integer ? 'integer' : 'number');
      return (v) =>
        typeof v === 'number' && (integer ? Number.isSafeInteger(v) : Number.isFinite(v))
          ? undefined
          : problem(name, v);
    }
    case 'boolean': {
      const name = label('boolean');
      return (v) => (typeof v === 'boolean' ? undefined : problem(name, v));
    }
    case 'null': {
      const name = label('null');
      return (v) => (v === null ? undefined : problem(name, v));
    }
    case 'unknown':
      return () => undefined;
    case 'enum': {
      const values = new Set<unknown>(Object.values(def.entries));
      const name = label('one of the known values');
      return (v) => (values.has(v) ? undefined : problem(name, v));
    }
    case 'literal': {
      const values = new Set<unknown>(def.values);
      const name = label('a known value');
      return (v) => (values.has(v) ? undefined : problem(name, v));
    }
    case 'array': {
      const element = compile(def.element);
      const name = label('array');
      return (v) => {
        if (!Array.isArray(v)) return problem(name, v);
        for (let i = 0; i < v.length; i++) {
          const p = element(v[i]);
          if (p) {
            p.path.unshift(i);
            return p;
          }
        }
        return undefined;
      };
    }
    case 'object': {
      if (def.catchall && def.catchall._zod.def.type !== 'unknown') {
        throw new Error('schema-check: strict objects are not supported');
      }
      const fields = Object.entries(def.shape as Record<string, z.ZodType>).map(
        ([k, s]) => [k, compile(s)] as const,
      );
      const name = label('object');
      return (v) => {
        if (v === null || typeof v !== 'object' || Array.isArray(v)) return problem(name, v);
        const o = v as Record<string, unknown>;
        for (const [k, check] of fields) {
          const p = check(o[k]);
          if (p) {
            p.path.unshift(k);
            return p;
          }
        }
        return undefined;
      };
    }
    case 'union': {
      const name = label('a matching value');
      // A union of plain types (string | number | boolean | null), the commonest field here, is one test.
      const plain = def.options.map((o: z.ZodType) => (o as AnyDef)._zod.def);
      if (
        plain.every(
          (d: AnyDef) => ['string', 'number', 'boolean', 'null'].includes(d.type) && !d.checks?.length,
        )
      ) {
        const types = new Set<string>(plain.map((d: AnyDef) => d.type as string));
        return (v) => {
          const t = v === null ? 'null' : typeof v;
          return types.has(t) && (t !== 'number' || Number.isFinite(v)) ? undefined : problem(name, v);
        };
      }
      const options: Check[] = def.options.map((o: z.ZodType) => compile(o));
      return (v) => {
        let best: SchemaProblem | undefined;
        for (const o of options) {
          const p = o(v);
          if (!p) return undefined;
          // The option that got furthest into the value says most about what is wrong.
          if (!best || p.path.length > best.path.length) best = p;
        }
        return best && best.path.length > 0 ? best : problem(name, v);
      };
    }
    default:
      throw new Error(`schema-check: unsupported schema type ${def.type}`);
  }
}

/** Compiles `schema` once; the returned function reports the first problem, or undefined when valid. */
export function compileSchemaCheck(schema: z.ZodType): (value: unknown) => SchemaProblem | undefined {
  return compile(schema);
}
