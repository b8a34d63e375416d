// A forgiving tokenizer for the filter language (https://docs.aws.amazon.com/xray/latest/devguide/xray-console-filters.html), used only for
// autocompletion: it never fails, it marks unterminated strings instead.
// The server's parser is the authority on what is valid.

export type TokKind = 'str' | 'num' | 'word' | 'op' | 'punct';

export interface Tok {
  kind: TokKind;
  text: string;
  start: number;
  end: number;
  /** Strings: whether the closing quote is present. */
  closed?: boolean;
}

const wordStart = /[A-Za-z_]/;
const wordChar = /[A-Za-z0-9_.\-]/;

export function lex(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === '"') {
      i++;
      let closed = false;
      while (i < src.length) {
        if (src[i] === '\\') {
          i += 2;
          continue;
        }
        if (src[i] === '"') {
          closed = true;
          i++;
          break;
        }
        i++;
      }
      i = Math.min(i, src.length);
      toks.push({ kind: 'str', text: src.slice(start, i), start, end: i, closed });
      continue;
    }
    if (/[0-9]/.test(c) || (c === '-' && /[0-9.]/.test(src[i + 1] ?? ''))) {
      i++;
      while (i < src.length && /[0-9.eE]/.test(src[i])) {
        if (/[eE]/.test(src[i]) && /[+-]/.test(src[i + 1] ?? '')) i++;
        i++;
      }
      toks.push({ kind: 'num', text: src.slice(start, i), start, end: i });
      continue;
    }
    if (wordStart.test(c)) {
      i++;
      while (i < src.length && wordChar.test(src[i])) i++;
      toks.push({ kind: 'word', text: src.slice(start, i), start, end: i });
      continue;
    }
    const two = src.slice(i, i + 2);
    if (two === '!=' || two === '<=' || two === '>=' || two === '==') {
      i += 2;
      toks.push({ kind: 'op', text: two, start, end: i });
      continue;
    }
    if ('=<>!'.includes(c)) {
      i++;
      toks.push({ kind: 'op', text: c, start, end: i });
      continue;
    }
    i++;
    toks.push({ kind: 'punct', text: c, start, end: i });
  }
  return toks;
}

/**
 * Converts the server's 1-based rune column (from "filter expression:
 * column N: …") to an index into the JavaScript (UTF-16) string.
 */
export function columnToIndex(src: string, column: number): number {
  let idx = 0;
  let runes = 1;
  for (const ch of src) {
    if (runes >= column) break;
    idx += ch.length;
    runes++;
  }
  return Math.min(idx, src.length);
}

export interface FilterError {
  message: string;
  /** Index into the expression, when the server reported a column. */
  index?: number;
  column?: number;
}

/** Splits an InvalidRequestException message about a filter into position and text. */
export function parseFilterError(src: string, message: string): FilterError {
  const m = /^filter expression: column (\d+): ([\s\S]*)$/.exec(message);
  if (!m) return { message };
  const column = parseInt(m[1], 10);
  return { message: m[2], column, index: columnToIndex(src, column) };
}
