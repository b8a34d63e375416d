// Autocompletion for the filter bar: keywords of the filter language
// (https://docs.aws.amazon.com/xray/latest/devguide/xray-console-filters.html) valid where the cursor is, operators for the keyword before
// it, service names inside service()/edge()/id(), annotation keys after
// annotation. or inside annotation[…], and AND/OR after a complete term.
import { quote } from '../format';
import { lex, type Tok } from './lex';

export type ItemKind = 'keyword' | 'function' | 'operator' | 'value' | 'service' | 'annotation' | 'connective';

export interface Item {
  /** What the list shows. */
  label: string;
  /** The text that replaces [from, to). */
  insert: string;
  /** Where the caret goes, as an offset into insert (default: its end). */
  caret?: number;
  detail?: string;
  kind: ItemKind;
}

export interface Completion {
  from: number;
  to: number;
  /** What the user typed of the token being completed (filters the list). */
  prefix: string;
  items: Item[];
}

export interface Context {
  services: string[];
  /** Node types seen (for type = "…" and id(type: "…")). */
  types?: string[];
  annotationKeys: string[];
  groups?: string[];
}

type ValueType = 'bool' | 'num' | 'str';
type Scope = 'trace' | 'node' | 'edge' | 'rcservice' | 'rcentity' | 'rctimeentity' | 'rcexception';

interface Kw {
  name: string;
  type: ValueType;
  scopes: Scope[];
  detail: string;
}

const T: Scope = 'trace';
const rcAll: Scope[] = ['rcservice', 'rcentity', 'rctimeentity', 'rcexception'];
const rcEntities: Scope[] = ['rcentity', 'rctimeentity'];

/** The simple keywords and where they are valid (mirrors internal/filter/keywords.go; internal/filter TestConsoleKeywordsMatchParser checks it). */
export const keywords: Kw[] = [
  { name: 'ok', type: 'bool', scopes: [T, 'node', 'edge'], detail: 'no error, fault or throttle' },
  { name: 'error', type: 'bool', scopes: [T, 'node', 'edge'], detail: 'client error (4xx)' },
  { name: 'fault', type: 'bool', scopes: [T, 'node', 'edge'], detail: 'server fault (5xx)' },
  { name: 'throttle', type: 'bool', scopes: [T, 'node', 'edge'], detail: 'throttled (429)' },
  { name: 'partial', type: 'bool', scopes: [T, 'node', 'edge'], detail: 'has in-progress segments' },
  { name: 'inferred', type: 'bool', scopes: [T, 'node', 'rcservice', ...rcEntities], detail: 'has inferred segments' },
  { name: 'root', type: 'bool', scopes: ['node'], detail: 'the service is the entry point' },
  { name: 'first', type: 'bool', scopes: rcAll, detail: 'first in the root-cause list' },
  { name: 'last', type: 'bool', scopes: rcAll, detail: 'last in the root-cause list' },
  { name: 'remote', type: 'bool', scopes: [...rcEntities, 'rcexception'], detail: 'a downstream call' },
  { name: 'responsetime', type: 'num', scopes: [T, 'node', 'edge'], detail: 'seconds until the response' },
  { name: 'duration', type: 'num', scopes: [T], detail: 'seconds, whole trace' },
  { name: 'http.status', type: 'num', scopes: [T, 'node', 'edge'], detail: 'HTTP status code' },
  { name: 'index', type: 'num', scopes: rcAll, detail: 'position in the root-cause list' },
  { name: 'coverage', type: 'num', scopes: ['rctimeentity'], detail: 'share of the response time, 0–1' },
  { name: 'http.url', type: 'str', scopes: [T, 'node', 'edge'], detail: 'request URL' },
  { name: 'http.method', type: 'str', scopes: [T, 'node', 'edge'], detail: 'request method' },
  { name: 'http.useragent', type: 'str', scopes: [T, 'node', 'edge'], detail: 'user agent' },
  { name: 'http.clientip', type: 'str', scopes: [T, 'node', 'edge'], detail: 'client IP' },
  { name: 'user', type: 'str', scopes: [T, 'node'], detail: 'user of any segment' },
  { name: 'name', type: 'str', scopes: ['node', ...rcAll], detail: 'service or exception name' },
  { name: 'type', type: 'str', scopes: ['node', 'rcservice', ...rcEntities], detail: 'service type' },
  { name: 'message', type: 'str', scopes: ['rcentity', 'rcexception'], detail: 'exception message' },
  { name: 'availabilityzone', type: 'str', scopes: [T], detail: 'availability zone' },
  { name: 'instance.id', type: 'str', scopes: [T], detail: 'EC2 instance ID' },
  { name: 'resource.arn', type: 'str', scopes: [T], detail: 'resource ARN of any segment' },
  { name: 'account.id', type: 'str', scopes: ['node', 'rcservice', ...rcEntities], detail: 'account ID' },
];

const kwByName = new Map(keywords.map((k) => [k.name, k]));

const rootcauses = ['fault', 'error', 'responsetime'].flatMap((kind) =>
  ['service', 'entity', 'exception']
    .filter((t) => !(kind === 'responsetime' && t === 'exception'))
    .map((t) => `rootcause.${kind}.${t}`),
);

function rcScope(word: string): Scope {
  if (word.endsWith('.service')) return 'rcservice';
  if (word.endsWith('.exception')) return 'rcexception';
  return word.startsWith('rootcause.responsetime.') ? 'rctimeentity' : 'rcentity';
}

const operators: Record<ValueType | 'any', string[]> = {
  bool: ['=', '!='],
  num: ['=', '!=', '<', '<=', '>', '>='],
  str: ['=', '!=', 'CONTAINS', 'BEGINSWITH', 'ENDSWITH'],
  any: ['=', '!=', '<', '<=', '>', '>=', 'CONTAINS', 'BEGINSWITH', 'ENDSWITH'],
};
const wordOps = new Set(['contains', 'beginswith', 'endswith']);
const connectives = new Set(['and', 'or', 'not']);
const annKeyIdent = /^[A-Za-z0-9_]+$/;

function annotationRef(key: string): string {
  return annKeyIdent.test(key) ? `annotation.${key}` : `annotation[${quote(key)}]`;
}

function isOp(t: Tok | undefined): boolean {
  return !!t && ((t.kind === 'op' && t.text !== '!') || (t.kind === 'word' && wordOps.has(t.text.toLowerCase())));
}

/** What kind of term a keyword-ish word is, when it takes an operator. */
function termType(t: Tok | undefined, toks: Tok[], i: number): ValueType | 'any' | undefined {
  if (!t) return undefined;
  if (t.kind === 'word') {
    const w = t.text.toLowerCase();
    if (w.startsWith('annotation.')) return 'any';
    if (w === 'group.name' || w === 'group.arn' || w === 'groupname' || w === 'grouparn') return 'str';
    return kwByName.get(w)?.type;
  }
  if (t.kind === 'punct' && t.text === ']') {
    // annotation[ key ]
    for (let j = i - 1; j >= 1 && j >= i - 3; j--) {
      if (toks[j].text === '[' && toks[j - 1]?.text.toLowerCase() === 'annotation') return 'any';
    }
  }
  return undefined;
}

interface Frame {
  open: '(' | '{' | '[';
  /** For "(": the word before it (service, edge, id), or "" for grouping. */
  fn: string;
  scope: Scope;
  /** For "(" of a call: how many commas so far. */
  args: number;
}

/** Scans tokens before the cursor and returns the open brackets. */
function frames(toks: Tok[]): Frame[] {
  const stack: Frame[] = [];
  let pendingScope: Scope | undefined;
  const scope = () => stack.filter((f) => f.open === '{').at(-1)?.scope ?? 'trace';
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    const prev = toks[i - 1];
    if (t.kind === 'word') {
      const w = t.text.toLowerCase();
      if (rootcauses.includes(w)) pendingScope = rcScope(w);
    }
    if (t.kind !== 'punct') continue;
    switch (t.text) {
      case '(': {
        const fn = prev?.kind === 'word' ? prev.text.toLowerCase() : '';
        stack.push({ open: '(', fn: ['service', 'edge', 'id'].includes(fn) ? fn : '', scope: scope(), args: 0 });
        break;
      }
      case '[':
        stack.push({ open: '[', fn: prev?.text.toLowerCase() === 'annotation' ? 'annotation' : '', scope: scope(), args: 0 });
        break;
      case '{': {
        let s: Scope = pendingScope ?? 'trace';
        if (!pendingScope && prev?.text === ')') {
          // find the call this ")" closes
          let depth = 0;
          for (let j = i - 1; j >= 0; j--) {
            if (toks[j].text === ')') depth++;
            else if (toks[j].text === '(') {
              depth--;
              if (depth === 0) {
                const fn = toks[j - 1]?.text.toLowerCase();
                s = fn === 'edge' ? 'edge' : 'node';
                break;
              }
            }
          }
        }
        pendingScope = undefined;
        stack.push({ open: '{', fn: '', scope: s, args: 0 });
        break;
      }
      case ')':
      case '}':
      case ']': {
        const want = t.text === ')' ? '(' : t.text === '}' ? '{' : '[';
        const at = stack.map((f) => f.open).lastIndexOf(want);
        if (at >= 0) stack.length = at;
        break;
      }
      case ',': {
        const top = stack.at(-1);
        if (top && top.open === '(') top.args++;
        break;
      }
    }
  }
  return stack;
}

function rank(items: Item[], prefix: string): Item[] {
  if (!prefix) return items;
  const p = prefix.toLowerCase();
  const starts: Item[] = [];
  const contains: Item[] = [];
  for (const it of items) {
    const l = it.label.toLowerCase();
    if (l.startsWith(p)) starts.push(it);
    else if (l.includes(p)) contains.push(it);
  }
  return [...starts, ...contains];
}

function stringItems(values: string[], kind: ItemKind, detail: string): Item[] {
  return values.map((v) => ({ label: v, insert: quote(v), kind, detail }));
}

function termItems(scope: Scope, ctx: Context, prefix: string): Item[] {
  const items: Item[] = [];
  for (const k of keywords) {
    if (k.scopes.includes(scope)) items.push({ label: k.name, insert: k.name, kind: 'keyword', detail: k.detail });
  }
  if (scope === 'trace') {
    items.push(
      { label: 'service()', insert: 'service("")', caret: 9, kind: 'function', detail: 'traces through a service' },
      { label: 'edge()', insert: 'edge("", "")', caret: 6, kind: 'function', detail: 'traces along an edge' },
      { label: 'group.name', insert: 'group.name = ""', caret: 14, kind: 'keyword', detail: 'traces of a group' },
    );
    for (const rc of rootcauses) {
      items.push({ label: rc, insert: `${rc} {  }`, caret: rc.length + 3, kind: 'function', detail: 'root-cause block' });
    }
    items.push({ label: 'rootcause.json', insert: 'rootcause.json = #[]', caret: 19, kind: 'keyword', detail: 'match root causes as JSON' });
  }
  if (scope === 'trace' || scope === 'node') {
    items.push({ label: 'annotation.', insert: 'annotation.', kind: 'keyword', detail: 'annotation value' });
    for (const key of ctx.annotationKeys) {
      items.push({ label: annotationRef(key), insert: annotationRef(key), kind: 'annotation', detail: 'annotation' });
    }
    if (scope === 'trace' && prefix) {
      for (const s of ctx.services) {
        items.push({ label: `service("${s}")`, insert: `service(${quote(s)})`, kind: 'service', detail: 'service' });
      }
    }
  }
  return rank(items, prefix);
}

function valueItems(kw: string, ctx: Context, scope: Scope): Item[] {
  const k = kwByName.get(kw);
  if (k?.type === 'bool') {
    return ['true', 'false'].map((v) => ({ label: v, insert: v, kind: 'value' as const }));
  }
  switch (kw) {
    case 'type':
      return stringItems(ctx.types ?? [], 'value', 'type');
    case 'name':
      return scope === 'node' ? stringItems(ctx.services, 'service', 'service') : [];
    case 'http.method':
      return stringItems(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD'], 'value', 'method');
    case 'group.name':
    case 'groupname':
      return stringItems(ctx.groups ?? [], 'value', 'group');
  }
  return [];
}

/** Suggestions for the expression src with the caret at pos. */
export function complete(src: string, pos: number, ctx: Context): Completion {
  const all = lex(src);
  // the token the caret is in or right after
  const cur = all.find((t) => t.start < pos && pos <= t.end);
  const inString = cur?.kind === 'str' && (!cur.closed || pos < cur.end);
  const empty = (from: number, to: number, prefix: string): Completion => ({ from, to, prefix, items: [] });

  if (inString && cur) {
    const before = all.filter((t) => t.end <= cur.start);
    const stack = frames(before);
    const top = stack.at(-1);
    const prefix = src.slice(cur.start + 1, pos);
    const from = cur.start;
    const to = cur.closed ? cur.end : pos;
    const prev = before.at(-1);
    const prev2 = before.at(-2);
    let items: Item[] = [];
    if (top?.open === '(' && (top.fn === 'service' || top.fn === 'edge') && (prev?.text === '(' || prev?.text === ',')) {
      items = stringItems(ctx.services, 'service', 'service');
    } else if (top?.open === '(' && top.fn === 'id' && prev?.text === ':') {
      const arg = prev2?.text.toLowerCase();
      if (arg === 'name') items = stringItems(ctx.services, 'service', 'service');
      else if (arg === 'type') items = stringItems(ctx.types ?? [], 'value', 'type');
    } else if (top?.open === '[' && top.fn === 'annotation') {
      items = stringItems(ctx.annotationKeys, 'annotation', 'annotation');
      items = items.map((it) => ({ ...it, insert: it.insert + ']' }));
      if (src[cur.end] === ']' && cur.closed) items = items.map((it) => ({ ...it, insert: it.insert.slice(0, -1) }));
    } else if (isOp(prev)) {
      const stackScope = stack.filter((f) => f.open === '{').at(-1)?.scope ?? 'trace';
      items = valueItems(prev2?.text.toLowerCase() ?? '', ctx, stackScope);
    }
    return { from, to, prefix, items: rank(items, prefix) };
  }

  let from = pos;
  let to = pos;
  let prefix = '';
  if (cur && cur.kind === 'word' && cur.end >= pos) {
    from = cur.start;
    to = cur.end;
    prefix = src.slice(cur.start, pos);
  } else if (cur && cur.kind === 'op' && cur.text !== '!' && cur.end === pos) {
    // "<" typed: offer "<" and "<=" as operators
    from = cur.start;
    to = cur.end;
    prefix = cur.text;
  }
  const before = all.filter((t) => t.end <= from);
  const stack = frames(before);
  const top = stack.at(-1);
  const scope = stack.filter((f) => f.open === '{').at(-1)?.scope ?? 'trace';
  const prev = before.at(-1);

  // annotation.<key>
  if (prefix.toLowerCase().startsWith('annotation.')) {
    const keyPrefix = prefix.slice('annotation.'.length).toLowerCase();
    const keys = [...ctx.annotationKeys.filter((k) => k.toLowerCase().startsWith(keyPrefix)), ...ctx.annotationKeys.filter((k) => !k.toLowerCase().startsWith(keyPrefix) && k.toLowerCase().includes(keyPrefix))];
    const items = keys.map((key): Item => ({ label: annotationRef(key), insert: annotationRef(key), kind: 'annotation', detail: 'annotation' }));
    return { from, to, prefix, items };
  }
  // inside a call's argument list
  if (top?.open === '(' && top.fn) {
    if (top.fn === 'id') {
      if (prev?.text === '(' || prev?.text === ',') {
        const args: Item[] = [
          { label: 'name:', insert: 'name: ""', caret: 7, kind: 'keyword', detail: 'node name' },
          { label: 'type:', insert: 'type: ""', caret: 7, kind: 'keyword', detail: 'node type' },
          { label: 'account.id:', insert: 'account.id: ""', caret: 13, kind: 'keyword', detail: 'account' },
        ];
        return { from, to, prefix, items: rank(args, prefix) };
      }
      return empty(from, to, prefix);
    }
    if (prev?.text === '(' || prev?.text === ',') {
      const items: Item[] = [
        ...stringItems(ctx.services, 'service', 'service'),
        { label: 'id()', insert: 'id(name: "")', caret: 10, kind: 'function', detail: 'node by name, type, account' },
      ];
      return { from, to, prefix, items: rank(items, prefix) };
    }
    return empty(from, to, prefix);
  }
  if (top?.open === '[' && top.fn === 'annotation') {
    return { from, to, prefix, items: rank(stringItems(ctx.annotationKeys, 'annotation', 'annotation'), prefix) };
  }

  const pw = prev?.kind === 'word' ? prev.text.toLowerCase() : '';
  // after an operator: a value
  if (isOp(prev)) {
    const kwTok = before.at(-2);
    return { from, to, prefix, items: rank(valueItems(kwTok?.text.toLowerCase() ?? '', ctx, scope), prefix) };
  }
  // after a keyword that takes an operator
  const tt = termType(prev, before, before.length - 1);
  if (tt && prev) {
    const ops: Item[] = operators[tt].map((o) => ({ label: o, insert: o, kind: 'operator' as const }));
    const items = [...ops];
    if (tt !== 'num') items.push(...connectiveItems());
    // juxtaposition is an implicit AND: a word may start the next term
    const more = tt !== 'num' && /^[A-Za-z]/.test(prefix) ? termItems(scope, ctx, prefix) : [];
    return { from, to, prefix, items: [...rank(items, prefix), ...more] };
  }
  // at the start of a term
  if (!prev || ['(', '{', '!'].includes(prev.text) || connectives.has(pw)) {
    return { from, to, prefix, items: termItems(scope, ctx, prefix) };
  }
  // after a complete term
  if (prev.kind === 'str' || prev.kind === 'num' || prev.text === ')' || prev.text === '}' || prev.text === ']' || prev.kind === 'word') {
    const more = /^[A-Za-z]/.test(prefix) ? termItems(scope, ctx, prefix) : [];
    return { from, to, prefix, items: [...rank(connectiveItems(), prefix), ...more] };
  }
  return empty(from, to, prefix);
}

function connectiveItems(): Item[] {
  return [
    { label: 'AND', insert: 'AND', kind: 'connective' },
    { label: 'OR', insert: 'OR', kind: 'connective' },
  ];
}

/** Applies an item: the new text and caret position. */
export function apply(src: string, c: Completion, item: Item): { text: string; caret: number } {
  let insert = item.insert;
  const after = src.slice(c.to);
  let caret = c.from + (item.caret ?? insert.length);
  // leave the caret after a space, ready for the next token, unless the
  // item places it itself (inside quotes) or continues (annotation.)
  if (item.caret === undefined && !insert.endsWith('.')) {
    if (/^\s/.test(after)) caret += 1;
    else if (!/^[)}\],]/.test(after)) {
      insert += ' ';
      caret += 1;
    }
  }
  return { text: src.slice(0, c.from) + insert + after, caret };
}
