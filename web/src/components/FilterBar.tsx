// The filter bar: one line of the X-Ray filter language with
// autocompletion (keywords, operators, service names, annotation keys) and
// the server's syntax errors shown at the column it reports.
//
// Keys: ↓/↑ move in the list, Tab or Enter accept, Esc closes it,
// Ctrl+Space opens it, Enter (nothing picked) runs the query.
import { useEffect, useRef, useState } from 'preact/hooks';
import { apply, complete, type Completion, type Context } from '../filter/complete';
import type { FilterError } from '../filter/lex';

interface Props {
  value: string;
  onSubmit: (expr: string) => void;
  error?: FilterError;
  ctx: Context;
  busy?: boolean;
}

const MAX_ITEMS = 60;

export function FilterBar({ value, onSubmit, error, ctx, busy }: Props) {
  const [text, setText] = useState(value);
  const [comp, setComp] = useState<Completion | null>(null);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const input = useRef<HTMLInputElement>(null);
  const list = useRef<HTMLUListElement>(null);

  useEffect(() => setText(value), [value]);
  // put the caret where the server found the problem
  useEffect(() => {
    if (error?.index !== undefined && input.current) {
      input.current.focus();
      input.current.setSelectionRange(error.index, error.index);
    }
  }, [error]);
  useEffect(() => {
    list.current?.querySelector('[aria-selected="true"]')?.scrollIntoView({ block: 'nearest' });
  }, [active]);

  const refresh = (t: string, caret: number, show = true) => {
    const c = complete(t, caret, ctx);
    c.items = c.items.slice(0, MAX_ITEMS);
    setComp(c);
    setOpen(show && c.items.length > 0);
    setActive(c.prefix && c.items.length ? 0 : -1);
  };

  const accept = (i: number) => {
    if (!comp) return;
    const item = comp.items[i];
    if (!item) return;
    const r = apply(text, comp, item);
    // update the element now, so keys typed right after land at the caret
    const el = input.current;
    if (el) {
      el.value = r.text;
      el.setSelectionRange(r.caret, r.caret);
    }
    setText(r.text);
    refresh(r.text, r.caret);
  };

  const submit = () => {
    setOpen(false);
    onSubmit(text.trim());
  };

  const onKeyDown = (e: KeyboardEvent) => {
    const n = comp?.items.length ?? 0;
    if (e.key === ' ' && e.ctrlKey) {
      e.preventDefault();
      refresh(text, input.current!.selectionStart ?? text.length);
      return;
    }
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      if (!open) refresh(text, input.current!.selectionStart ?? text.length);
      else setActive((a) => (a + 1) % Math.max(n, 1));
      return;
    }
    if (e.key === 'ArrowUp' && open) {
      e.preventDefault();
      setActive((a) => (a <= 0 ? n - 1 : a - 1));
      return;
    }
    if (e.key === 'Escape' && open) {
      e.preventDefault();
      e.stopPropagation();
      setOpen(false);
      return;
    }
    if (e.key === 'Tab' && open && n > 0 && !e.shiftKey) {
      e.preventDefault();
      accept(active >= 0 ? active : 0);
      return;
    }
    if (e.key === 'Enter') {
      e.preventDefault();
      if (open && active >= 0 && comp) {
        const item = comp.items[active];
        const current = text.slice(comp.from, comp.to);
        if (item && item.insert !== current) {
          accept(active);
          return;
        }
      }
      submit();
    }
  };

  const err = error;
  const activeId = open && active >= 0 ? `filter-opt-${active}` : undefined;
  return (
    <form
      class="filterbar"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <div class="filter-row">
        <div class="combo">
          <label for="filter-input" class="sr-only">
            Filter expression
          </label>
          <input
            id="filter-input"
            ref={input}
            type="text"
            role="combobox"
            aria-expanded={open}
            aria-controls="filter-options"
            aria-autocomplete="list"
            aria-activedescendant={activeId}
            aria-invalid={err ? 'true' : undefined}
            aria-describedby={err ? 'filter-error' : undefined}
            autocomplete="off"
            spellcheck={false}
            placeholder='Filter, e.g. service("api") { fault } AND responsetime > 1   (press / to focus, Ctrl+Space for suggestions)'
            value={text}
            onInput={(e) => {
              const el = e.target as HTMLInputElement;
              setText(el.value);
              refresh(el.value, el.selectionStart ?? el.value.length);
            }}
            onClick={(e) => {
              const el = e.target as HTMLInputElement;
              refresh(el.value, el.selectionStart ?? el.value.length, open);
            }}
            onKeyDown={onKeyDown}
            onBlur={() => setOpen(false)}
          />
          {open && comp && (
            <ul id="filter-options" class="completions" role="listbox" ref={list} aria-label="Suggestions">
              {comp.items.map((it, i) => (
                <li
                  key={it.kind + it.label}
                  id={`filter-opt-${i}`}
                  role="option"
                  aria-selected={i === active}
                  class={i === active ? 'active' : undefined}
                  onMouseDown={(e) => {
                    e.preventDefault();
                    accept(i);
                  }}
                  onMouseEnter={() => setActive(i)}
                >
                  <span class={`kind kind-${it.kind}`}>{kindLabel[it.kind]}</span>
                  <span class="label">{it.label}</span>
                  {it.detail && <span class="detail">{it.detail}</span>}
                </li>
              ))}
            </ul>
          )}
        </div>
        <button type="submit" disabled={busy}>
          Run
        </button>
        {text && (
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setText('');
              onSubmit('');
            }}
          >
            Clear
          </button>
        )}
      </div>
      {err && (
        <div id="filter-error" class="filter-error" role="alert">
          {err.index !== undefined ? (
            <>
              <pre aria-hidden="true">
                {value.slice(0, err.index)}
                <mark>{value.slice(err.index, err.index + 1) || ' '}</mark>
                {value.slice(err.index + 1)}
                {'\n' + ' '.repeat(err.index) + '^'}
              </pre>
              <div>
                <strong>Column {err.column}:</strong> {err.message}
              </div>
            </>
          ) : (
            <div>{err.message}</div>
          )}
        </div>
      )}
    </form>
  );
}

const kindLabel: Record<string, string> = {
  keyword: 'kw',
  function: 'fn',
  operator: 'op',
  value: 'val',
  service: 'svc',
  annotation: 'ann',
  connective: 'and',
};
