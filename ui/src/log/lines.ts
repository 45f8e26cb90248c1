// A step's output as lines, appended chunk by chunk as the node streams it. Chunks end anywhere
// (mid-line, mid-escape): the last line stays open until its newline comes. Each line keeps the
// style it starts in, so any line can be rendered alone (the view renders only visible ones).
import { endStyle, plain, plainText, type Style } from "./ansi";

export class LogLines {
  /** The lines, the last one possibly open (no newline yet). */
  readonly lines: string[] = [];
  /** The style each line starts in. */
  readonly styles: Style[] = [];
  /** When each line arrived (ms since the epoch), or null for lines replayed on connect. */
  readonly times: (number | null)[] = [];
  /** Bumped on every change, so views know to render again. */
  version = 0;
  private open = false;

  get length(): number {
    return this.lines.length;
  }

  /** Adds output; `time` is when it arrived (null: replayed, the node keeps no per-line times). */
  append(chunk: string, time: number | null): void {
    if (!chunk) return;
    const parts = chunk.split("\n");
    const closed = parts[parts.length - 1] === "";
    if (closed) parts.pop();
    let from = this.lines.length;
    if (this.open && parts.length > 0) {
      from = this.lines.length - 1;
      this.lines[from] += parts.shift()!;
    }
    for (const p of parts) {
      this.lines.push(p);
      this.times.push(time);
      this.styles.push(plain);
    }
    // styles of the lines after the ones that changed
    for (let i = Math.max(from, 1); i < this.lines.length; i++)
      this.styles[i] = endStyle(this.lines[i - 1], this.styles[i - 1]);
    this.open = !closed;
    this.version++;
  }
}

/** The indexes (0-based) of lines whose visible text contains `query`, case-insensitively. */
export function searchLines(log: LogLines, query: string): number[] {
  if (!query) return [];
  const needle = query.toLowerCase();
  const out: number[] = [];
  for (let i = 0; i < log.lines.length; i++)
    if (plainText(log.lines[i]).toLowerCase().includes(needle)) out.push(i);
  return out;
}

/** The window of lines a scroll box of `height` px at `scrollTop` shows, with `overscan`
 *  lines either side: [first, end). */
export function visibleRange(
  count: number, lineHeight: number, scrollTop: number, height: number, overscan = 20,
): [number, number] {
  const first = Math.max(0, Math.floor(scrollTop / lineHeight) - overscan);
  const end = Math.min(count, Math.ceil((scrollTop + height) / lineHeight) + overscan);
  return [first, Math.max(first, end)];
}
