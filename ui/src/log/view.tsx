// One step's log, virtualized: a scroll box of fixed-height lines where only the lines in view
// (and a few around them) exist in the DOM, so a 4 MiB log scrolls as smoothly as a short one.
// Text is rendered as text nodes in spans: nothing a step prints is parsed as HTML.
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { markMatches, parseLine, styleClasses } from "./ansi";
import type { LogLines } from "./lines";
import { visibleRange } from "./lines";

/** Every log line's height in px (styles.css `.log-line` says the same). */
export const lineHeight = 20;
const maxBoxHeight = 480;
/** Characters of one line shown; the rest of a longer line is counted, not drawn (search still
 *  finds text in it). */
export const maxLineShown = 10000;

function clock(t: number | null): string {
  if (t === null) return "";
  const d = new Date(t);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

export function LogView(props: {
  log: LogLines;
  version: number;
  stepKey: string;
  label: string;
  query: string;
  /** The line (0-based) to show and highlight, -1 for none; `focusSeq` changes to scroll again. */
  active: number;
  focusSeq: number;
  /** Keep the last line in view while output comes, as long as the reader is at the bottom. */
  follow: boolean;
}) {
  const { log, stepKey, query, active } = props;
  const box = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const atBottom = useRef(true);
  const count = log.length;
  const height = Math.min(Math.max(count, 1) * lineHeight, maxBoxHeight);

  useLayoutEffect(() => {
    const el = box.current;
    if (!el || !props.follow || !atBottom.current) return;
    el.scrollTop = el.scrollHeight;
    setTop(el.scrollTop);
  }, [props.version, props.follow]);

  useEffect(() => {
    const el = box.current;
    if (!el || active < 0) return;
    el.scrollTop = Math.max(0, active * lineHeight - el.clientHeight / 2 + lineHeight / 2);
    setTop(el.scrollTop);
    atBottom.current = false;
    el.scrollIntoView({ block: "nearest" });
  }, [active, props.focusSeq]);

  const [first, end] = visibleRange(count, lineHeight, top, height);
  const rows = [];
  for (let i = first; i < end; i++) {
    const text = log.lines[i];
    const { segments } = parseLine(text.length > maxLineShown ? text.slice(0, maxLineShown) : text, log.styles[i]);
    const shown = query ? markMatches(segments, query) : segments;
    rows.push(
      <div class={i === active ? "log-line hl" : "log-line"} key={i} data-line={i + 1}>
        <a class="ln" href={`#step-${stepKey}-L${i + 1}`} tabIndex={-1} aria-label={`line ${i + 1}`}>{i + 1}</a>
        <span class="lt">{clock(log.times[i])}</span>
        <span class="lc">
          {shown.map((s, k) => {
            const { cls, css } = styleClasses(s.style);
            const inner = s.mark ? <mark>{s.text}</mark> : s.text;
            return cls || css ? <span key={k} class={cls} style={css ?? undefined}>{inner}</span> : inner;
          })}
          {text.length > maxLineShown && <span class="cut"> … {text.length - maxLineShown} more characters</span>}
        </span>
      </div>,
    );
  }
  return (
    <div
      class="log"
      data-log
      ref={box}
      tabIndex={0}
      role="region"
      aria-label={props.label}
      style={{ height: `${height + 2}px` }}
      onScroll={(e) => {
        const el = e.currentTarget as HTMLDivElement;
        atBottom.current = el.scrollTop + el.clientHeight >= el.scrollHeight - lineHeight;
        setTop(el.scrollTop);
      }}
    >
      <div class="log-spacer" style={{ height: `${count * lineHeight}px` }}>
        <div class="log-window" style={{ transform: `translateY(${first * lineHeight}px)` }}>
          {rows}
        </div>
      </div>
    </div>
  );
}
