import { describe, expect, it } from 'vitest';
import { apply, complete, type Context } from './complete';
import { columnToIndex, lex, parseFilterError } from './lex';

const ctx: Context = {
  services: ['items', 'xraystarter-go', 'xraystarter-py', 'xraystarter-ts'],
  types: ['AWS::DynamoDB::Table', 'AWS::Lambda', 'AWS::Lambda::Function'],
  annotationKeys: ['aws:responseLatency', 'gameid'],
  groups: ['Default', 'slow'],
};

/** Completions at the "|" in src. */
function at(src: string) {
  const pos = src.indexOf('|');
  return complete(src.replace('|', ''), pos, ctx);
}
const labels = (src: string) => at(src).items.map((i) => i.label);

describe('complete', () => {
  it('offers keywords at the start, filtered by what was typed', () => {
    expect(labels('|')).toContain('service()');
    expect(labels('|')).toContain('responsetime');
    expect(labels('fa|')[0]).toBe('fault');
    expect(labels('resp|')[0]).toBe('responsetime');
    expect(at('resp|').from).toBe(0);
    expect(at('resp|').to).toBe(4);
  });

  it('offers only the keywords valid in a block', () => {
    expect(labels('service("a") { |')).toContain('root');
    expect(labels('|')).not.toContain('root');
    expect(labels('rootcause.fault.entity { |')).toContain('message');
    expect(labels('rootcause.responsetime.entity { |')).toContain('coverage');
    expect(labels('rootcause.fault.entity { |')).not.toContain('coverage');
    expect(labels('edge("a", "b") { |')).not.toContain('user');
  });

  it('offers service names inside service(), edge() and id()', () => {
    expect(labels('service("xr|")')).toEqual(['xraystarter-go', 'xraystarter-py', 'xraystarter-ts']);
    expect(labels('service(|')).toContain('items');
    expect(labels('edge("items", "x|')).toEqual(['xraystarter-go', 'xraystarter-py', 'xraystarter-ts']);
    expect(labels('service(id(name: "it|"))')).toEqual(['items']);
    expect(labels('service(id(type: "AWS::Lambda|"))')).toEqual(['AWS::Lambda', 'AWS::Lambda::Function']);
    expect(labels('service(id(|')).toEqual(['name:', 'type:', 'account.id:']);
  });

  it('offers annotation keys, bracketed when they are not identifiers', () => {
    expect(labels('annotation.|')).toEqual(['annotation["aws:responseLatency"]', 'annotation.gameid']);
    expect(labels('annotation.ga|')).toEqual(['annotation.gameid']);
    expect(labels('annotation["|')).toEqual(['aws:responseLatency', 'gameid']);
  });

  it('offers operators by keyword type, and values after them', () => {
    expect(labels('responsetime |')).toEqual(['=', '!=', '<', '<=', '>', '>=']);
    expect(labels('http.url |')).toEqual(['=', '!=', 'CONTAINS', 'BEGINSWITH', 'ENDSWITH', 'AND', 'OR']);
    expect(labels('ok = |')).toEqual(['true', 'false']);
    expect(labels('http.url CON|')).toEqual(['CONTAINS']);
    expect(labels('service("a") { type = |')).toEqual(ctx.types);
    expect(labels('group.name = |')).toEqual(['Default', 'slow']);
    expect(labels('annotation.gameid |')).toContain('BEGINSWITH');
  });

  it('offers AND/OR after a complete term, and terms for an implicit AND', () => {
    expect(labels('service("a") { fault } |')).toEqual(['AND', 'OR']);
    expect(labels('responsetime > 5 |')).toEqual(['AND', 'OR']);
    expect(labels('ok pa|')).toEqual(['partial']);
    expect(labels('(ok OR |')).toContain('fault');
  });

  it('applies an item with a space after, or the caret inside quotes', () => {
    let c = at('fa|');
    expect(apply('fa', c, c.items[0])).toEqual({ text: 'fault ', caret: 6 });
    c = at('serv|');
    const svc = c.items.find((i) => i.label === 'service()')!;
    expect(apply('serv', c, svc)).toEqual({ text: 'service("")', caret: 9 });
    const src = 'service("xr")';
    c = complete(src, 11, ctx);
    expect(apply(src, c, c.items[1])).toEqual({ text: 'service("xraystarter-py")', caret: 24 });
    c = at('annotation.ga|');
    expect(apply('annotation.ga', c, c.items[0])).toEqual({ text: 'annotation.gameid ', caret: 18 });
  });
});

describe('lex', () => {
  it('keeps strings, numbers, dotted words and operators', () => {
    expect(lex('http.url CONTAINS "a \\" b" AND responsetime>=1.5e3').map((t) => t.text)).toEqual([
      'http.url',
      'CONTAINS',
      '"a \\" b"',
      'AND',
      'responsetime',
      '>=',
      '1.5e3',
    ]);
    expect(lex('service("x').at(-1)).toMatchObject({ kind: 'str', closed: false });
  });

  it('maps the server column (runes from 1) to a string index', () => {
    expect(columnToIndex('ok AND', 4)).toBe(3);
    expect(columnToIndex('user = "é😀" OR', 12)).toBe(12); // the emoji is two UTF-16 units
    expect(columnToIndex('ok', 9)).toBe(2);
  });

  it('splits the server message', () => {
    expect(parseFilterError('service("a") { fault', 'filter expression: column 21: expected "}" to close "{" at column 14, found end of expression')).toEqual({
      column: 21,
      index: 20,
      message: 'expected "}" to close "{" at column 14, found end of expression',
    });
    expect(parseFilterError('x', 'something else')).toEqual({ message: 'something else' });
  });
});
