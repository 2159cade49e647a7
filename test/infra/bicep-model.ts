/**
 * A read-only model of a Bicep file, from the tree-sitter-bicep grammar (WebAssembly, no native build, no
 * Bicep CLI): syntax errors with their positions, the declarations, and each resource's body as plain
 * values (objects, arrays, strings, numbers; anything computed is kept as its expression text). It also
 * finds identifiers that name nothing declared: the typo class of error a syntax check alone misses.
 * This is what can be checked offline; type and API-version checks need `az bicep build` (infra/README.md).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Language, type Node, Parser } from 'web-tree-sitter';

const require = createRequire(import.meta.url);

export type BicepValue =
  | string
  | number
  | boolean
  | null
  | BicepValue[]
  | { [key: string]: BicepValue }
  | { expr: string };

export interface ResourceDecl {
  symbol: string;
  /** e.g. Microsoft.Storage/storageAccounts */
  type: string;
  apiVersion: string;
  /** The `if (...)` condition text, when conditional. */
  condition?: string;
  /** The `[for ...]` loop, when a loop; `body` is then the loop body. */
  loop?: string;
  body: { [key: string]: BicepValue };
  node: Node;
}

export interface BicepFile {
  source: string;
  errors: { line: number; column: number; text: string }[];
  params: Map<string, { type: string; default?: BicepValue; decorators: string[] }>;
  vars: Map<string, BicepValue>;
  resources: ResourceDecl[];
  modules: { symbol: string; path: string; body: { [key: string]: BicepValue } }[];
  outputs: Map<string, BicepValue>;
  /** Identifiers used as values that are not declared (nor loop/lambda variables). */
  undeclared: { name: string; line: number }[];
}

let parser: Parser | undefined;

async function bicepParser(): Promise<Parser> {
  if (parser) return parser;
  await Parser.init();
  const language = await Language.load(require.resolve('tree-sitter-bicep/tree-sitter-bicep.wasm'));
  parser = new Parser();
  parser.setLanguage(language);
  return parser;
}

const named = (n: Node): Node[] =>
  n.namedChildren.filter((c): c is Node => c !== null && c.type !== 'comment');

/**
 * The grammar sometimes splits an array element `f(x)` into `f` and `(x)`; pieces that touch (no space
 * between them) are one element. Returns the elements as [first node, text].
 */
function arrayElements(n: Node): { node: Node; text: string }[] {
  const out: { node: Node; start: number; end: number }[] = [];
  for (const c of named(n)) {
    const last = out.at(-1);
    if (last && c.startIndex === last.end) last.end = c.endIndex;
    else out.push({ node: c, start: c.startIndex, end: c.endIndex });
  }
  return out.map((e) => ({
    node: e.node,
    text: n.text.slice(e.start - n.startIndex, e.end - n.startIndex),
  }));
}

/** True when the grammar split a call: this identifier is directly followed by its `(arguments)`. */
function isSplitCall(id: Node): boolean {
  const next = id.nextNamedSibling;
  return next !== null && next.startIndex === id.endIndex && next.text.startsWith('(');
}

function stringValue(n: Node): BicepValue {
  // A string without interpolation is a literal; with one, it is an expression.
  if (named(n).some((c) => c.type === 'interpolation')) return { expr: n.text };
  return named(n)
    .filter((c) => c.type === 'string_content' || c.type === 'escape_sequence')
    .map((c) => (c.type === 'escape_sequence' ? JSON.parse(`"${c.text.replace("\\'", "'")}"`) : c.text))
    .join('');
}

export function toValue(n: Node): BicepValue {
  switch (n.type) {
    case 'object': {
      const out: { [key: string]: BicepValue } = {};
      for (const prop of named(n)) {
        if (prop.type !== 'object_property') continue;
        const [key, value] = named(prop);
        if (!key || !value) continue;
        const k = key.type === 'string' ? String(stringValue(key)) : key.text;
        out[k] = toValue(value);
      }
      return out;
    }
    case 'array':
      return arrayElements(n).map((e) => (e.text === e.node.text ? toValue(e.node) : { expr: e.text }));
    case 'string':
    case 'multiline_string':
      return n.type === 'string' ? stringValue(n) : n.text.slice(3, -3);
    case 'number':
      return Number(n.text);
    case 'boolean':
      return n.text === 'true';
    case 'null':
      return null;
    default:
      return { expr: n.text };
  }
}

const DECLARATIONS = new Set([
  'parameter_declaration',
  'variable_declaration',
  'resource_declaration',
  'module_declaration',
  'output_declaration',
  'type_declaration',
  'user_defined_function',
  'import_statement',
  'metadata_declaration',
]);
const NAMESPACES = new Set(['az', 'sys']);

function loopNames(forNode: Node): string[] {
  const names: string[] = [];
  const init = forNode.childForFieldName('initializer');
  if (init) names.push(init.text);
  for (const c of named(forNode))
    if (c.type === 'for_loop_parameters')
      for (const p of named(c))
        if (p.type === 'loop_variable' || p.type === 'loop_enumerator') names.push(p.text);
  return names;
}

function isReference(id: Node): boolean {
  const parent = id.parent;
  if (!parent) return false;
  const first = named(parent)[0];
  const isFirst = first?.id === id.id;
  if (DECLARATIONS.has(parent.type) && isFirst) return false;
  if (parent.type === 'object_property' && isFirst) return false;
  if (parent.type === 'call_expression' && parent.childForFieldName('function')?.id === id.id) return false;
  if (parent.type === 'for_statement' && parent.childForFieldName('initializer')?.id === id.id) return false;
  if (parent.type === 'lambda_expression' && named(parent).at(-1)?.id !== id.id) return false;
  if (parent.type === 'type' || parent.type === 'decorator') return false;
  return !isSplitCall(id);
}

function inLocalScope(id: Node): boolean {
  for (let a = id.parent; a; a = a.parent) {
    if (a.type === 'for_statement' && loopNames(a).includes(id.text)) return true;
    if (
      a.type === 'lambda_expression' &&
      named(a)
        .slice(0, -1)
        .some((p) => p.text === id.text)
    )
      return true;
  }
  return false;
}

function walk(n: Node, visit: (n: Node) => void): void {
  visit(n);
  for (const c of named(n)) walk(c, visit);
}

/** The body of a resource or module: plain, conditional (`if`) or a loop (`[for ...]`). */
function declBody(decl: Node): { body?: Node; condition?: string; loop?: string } {
  for (const c of named(decl)) {
    if (c.type === 'object') return { body: c };
    if (c.type === 'if_statement')
      return { body: named(c).find((x) => x.type === 'object'), condition: named(c)[0]?.text };
    if (c.type === 'for_statement') {
      const body = c.childForFieldName('body') ?? named(c).find((x) => x.type === 'object');
      const inner = body?.type === 'if_statement' ? named(body).find((x) => x.type === 'object') : body;
      return { body: inner ?? undefined, loop: c.text.slice(0, c.text.indexOf(':')) };
    }
  }
  return {};
}

export function parseBicep(file: string | URL): Promise<BicepFile> {
  return parseBicepSource(readFileSync(file, 'utf8'), String(file));
}

export async function parseBicepSource(source: string, file = '(source)'): Promise<BicepFile> {
  const tree = (await bicepParser()).parse(source);
  if (!tree) throw new Error(`tree-sitter could not parse ${file}`);
  const root = tree.rootNode;
  const model: BicepFile = {
    source,
    errors: [],
    params: new Map(),
    vars: new Map(),
    resources: [],
    modules: [],
    outputs: new Map(),
    undeclared: [],
  };
  const findErrors = (n: Node) => {
    if (n.type === 'ERROR' || n.isMissing)
      model.errors.push({
        line: n.startPosition.row + 1,
        column: n.startPosition.column + 1,
        text: n.isMissing ? `missing ${n.type}` : n.text.slice(0, 60),
      });
    for (const c of n.children) if (c) findErrors(c);
  };
  findErrors(root);
  if (root.hasError && model.errors.length === 0)
    model.errors.push({ line: 0, column: 0, text: 'parse error' });
  const declared = new Set<string>();
  let decorators: string[] = [];
  for (const n of named(root)) {
    if (n.type === 'decorators') {
      decorators = named(n).map((d) => d.text);
      continue;
    }
    const [id, second, third] = named(n);
    if (id?.type === 'identifier') declared.add(id.text);
    if (n.type === 'parameter_declaration' && id) {
      model.params.set(id.text, {
        type: second?.text ?? '',
        ...(third ? { default: toValue(third) } : {}),
        decorators,
      });
    } else if (n.type === 'variable_declaration' && id && second) {
      model.vars.set(id.text, toValue(second));
    } else if (n.type === 'output_declaration' && id) {
      const value = named(n).at(-1);
      if (value) model.outputs.set(id.text, toValue(value));
    } else if (n.type === 'resource_declaration' && id && second) {
      const typeText = String(stringValue(second));
      const [type, apiVersion] = typeText.split('@');
      const { body, condition, loop } = declBody(n);
      const value = body ? toValue(body) : {};
      model.resources.push({
        symbol: id.text,
        type: type ?? '',
        apiVersion: apiVersion ?? '',
        ...(condition ? { condition } : {}),
        ...(loop ? { loop } : {}),
        body: typeof value === 'object' && value && !Array.isArray(value) && !('expr' in value) ? value : {},
        node: n,
      });
    } else if (n.type === 'module_declaration' && id && second) {
      const { body } = declBody(n);
      const value = body ? toValue(body) : {};
      model.modules.push({
        symbol: id.text,
        path: String(stringValue(second)),
        body: typeof value === 'object' && value && !Array.isArray(value) && !('expr' in value) ? value : {},
      });
    }
    decorators = [];
  }
  walk(root, (n) => {
    if (n.type !== 'identifier' || !isReference(n)) return;
    if (declared.has(n.text) || NAMESPACES.has(n.text) || inLocalScope(n)) return;
    model.undeclared.push({ name: n.text, line: n.startPosition.row + 1 });
  });
  return model;
}

/** The value at a dotted path of an object value (`properties.networkAcls.defaultAction`). */
export function at(value: BicepValue | undefined, dotted: string): BicepValue | undefined {
  let cur: BicepValue | undefined = value;
  for (const key of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || 'expr' in cur) return undefined;
    cur = (cur as { [key: string]: BicepValue })[key];
  }
  return cur;
}

export function isExpr(v: BicepValue | undefined): v is { expr: string } {
  return (
    typeof v === 'object' && v !== null && !Array.isArray(v) && 'expr' in v && typeof v.expr === 'string'
  );
}
