// ANSI SGR ("Select Graphic Rendition") escapes in build output, turned into styled segments.
// Pure functions: the log view renders segments as text nodes in spans (never as HTML), so
// whatever a step prints is shown, never interpreted.

/** A text style. Colours are 0–15 (the classic palette, rendered by CSS classes), 16–255 (the
 *  xterm 256-colour cube) or "#rrggbb" (truecolor); null is the default. Styles are immutable:
 *  a line keeps a reference to the style it starts with. */
export interface Style {
  readonly fg: number | string | null;
  readonly bg: number | string | null;
  readonly bold: boolean;
  readonly dim: boolean;
  readonly italic: boolean;
  readonly underline: boolean;
}

export const plain: Style = Object.freeze({
  fg: null, bg: null, bold: false, dim: false, italic: false, underline: false,
});

/** A run of text in one style; `mark` is set on the part that matches a search. */
export interface Segment {
  text: string;
  style: Style;
  mark?: boolean;
}

// CSI sequences (ESC [ params final) and the other two-byte escapes; OSC (ESC ] ... BEL/ST)
// such as terminal titles or hyperlinks are dropped whole.
const escapes = /\x1b\[([0-9;:?]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?/g;

function clampByte(n: number): number {
  return Math.max(0, Math.min(255, n | 0));
}

/** The style after applying SGR parameters `params` ("1;31", "38;5;208", "" = reset). */
export function applySgr(style: Style, params: string): Style {
  const codes = params === "" ? [0] : params.split(/[;:]/).map((p) => (p === "" ? 0 : Number(p)));
  let s: { -readonly [K in keyof Style]: Style[K] } = { ...style };
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c === 0) s = { ...plain };
    else if (c === 1) s.bold = true;
    else if (c === 2) s.dim = true;
    else if (c === 3) s.italic = true;
    else if (c === 4) s.underline = true;
    else if (c === 22) s.bold = s.dim = false;
    else if (c === 23) s.italic = false;
    else if (c === 24) s.underline = false;
    else if (c >= 30 && c <= 37) s.fg = c - 30;
    else if (c >= 90 && c <= 97) s.fg = c - 90 + 8;
    else if (c === 39) s.fg = null;
    else if (c >= 40 && c <= 47) s.bg = c - 40;
    else if (c >= 100 && c <= 107) s.bg = c - 100 + 8;
    else if (c === 49) s.bg = null;
    else if (c === 38 || c === 48) {
      let colour: number | string | null = null;
      if (codes[i + 1] === 5 && i + 2 < codes.length) {
        colour = clampByte(codes[i + 2]);
        i += 2;
      } else if (codes[i + 1] === 2 && i + 4 < codes.length) {
        const hex = (n: number) => clampByte(n).toString(16).padStart(2, "0");
        colour = `#${hex(codes[i + 2])}${hex(codes[i + 3])}${hex(codes[i + 4])}`;
        i += 4;
      } else break; // malformed: ignore the rest
      if (c === 38) s.fg = colour;
      else s.bg = colour;
    }
    // other codes (blink, inverse, fonts...) are ignored
  }
  if (sameStyle(s, style)) return style;
  return sameStyle(s, plain) ? plain : Object.freeze(s);
}

function sameStyle(a: Style, b: Style): boolean {
  return a.fg === b.fg && a.bg === b.bg && a.bold === b.bold && a.dim === b.dim &&
    a.italic === b.italic && a.underline === b.underline;
}

/** One line (no "\n") starting in `style`: its segments and the style it ends in. A carriage
 *  return starts the line over (progress bars), keeping the style. */
export function parseLine(line: string, style: Style = plain): { segments: Segment[]; end: Style } {
  // CRLF output: the "\r" before the newline must not blank the line
  while (line.endsWith("\r")) line = line.slice(0, -1);
  let segments: Segment[] = [];
  let at = 0;
  const push = (text: string) => {
    if (!text) return;
    const cr = text.lastIndexOf("\r");
    if (cr >= 0) {
      segments = [];
      text = text.slice(cr + 1);
      if (!text) return;
    }
    const last = segments[segments.length - 1];
    if (last && last.style === style) last.text += text;
    else segments.push({ text, style });
  };
  escapes.lastIndex = 0;
  for (let m = escapes.exec(line); m; m = escapes.exec(line)) {
    push(line.slice(at, m.index));
    if (m[2] === "m" && !m[1].startsWith("?")) style = applySgr(style, m[1]);
    at = m.index + m[0].length;
  }
  push(line.slice(at));
  return { segments, end: style };
}

/** The style a line ends in, without building its segments. */
export function endStyle(line: string, style: Style): Style {
  if (line.indexOf("\x1b") < 0) return style;
  escapes.lastIndex = 0;
  for (let m = escapes.exec(line); m; m = escapes.exec(line))
    if (m[2] === "m" && !m[1].startsWith("?")) style = applySgr(style, m[1]);
  return style;
}

/** The text a reader sees: escapes removed, carriage returns applied. */
export function plainText(line: string): string {
  if (line.indexOf("\x1b") < 0 && line.indexOf("\r") < 0) return line;
  return parseLine(line).segments.map((s) => s.text).join("");
}

/** Splits segments so that every case-insensitive occurrence of `query` is marked. */
export function markMatches(segments: Segment[], query: string): Segment[] {
  if (!query) return segments;
  const text = segments.map((s) => s.text).join("");
  const hay = text.toLowerCase();
  const needle = query.toLowerCase();
  const ranges: [number, number][] = [];
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + needle.length))
    ranges.push([i, i + needle.length]);
  if (ranges.length === 0) return segments;
  const out: Segment[] = [];
  let pos = 0;
  let r = 0;
  for (const seg of segments) {
    const start = pos;
    const end = pos + seg.text.length;
    let cut = start;
    while (cut < end) {
      while (r < ranges.length && ranges[r][1] <= cut) r++;
      const range = ranges[r];
      if (!range || range[0] >= end) {
        out.push({ text: seg.text.slice(cut - start), style: seg.style });
        break;
      }
      if (range[0] > cut) {
        out.push({ text: seg.text.slice(cut - start, range[0] - start), style: seg.style });
        cut = range[0];
      }
      const stop = Math.min(range[1], end);
      out.push({ text: seg.text.slice(cut - start, stop - start), style: seg.style, mark: true });
      cut = stop;
    }
    pos = end;
  }
  return out;
}

/** CSS classes and inline colours for a style (classes for the 16 colours and attributes,
 *  inline colours only for 256-colour and truecolor). */
export function styleClasses(style: Style): { cls: string; css: Record<string, string> | null } {
  const cls: string[] = [];
  let css: Record<string, string> | null = null;
  const colour = (c: number | string | null, kind: "fg" | "bg") => {
    if (c === null) return;
    if (typeof c === "number" && c < 16) {
      cls.push(`ansi-${kind}-${c}`);
      return;
    }
    css ??= {};
    css[kind === "fg" ? "color" : "backgroundColor"] = typeof c === "string" ? c : xterm256(c);
    if (kind === "bg") cls.push("ansi-bg");
  };
  colour(style.fg, "fg");
  colour(style.bg, "bg");
  if (style.bold) cls.push("ansi-bold");
  if (style.dim) cls.push("ansi-dim");
  if (style.italic) cls.push("ansi-italic");
  if (style.underline) cls.push("ansi-underline");
  return { cls: cls.join(" "), css };
}

/** The RGB of xterm colour 16–255 as "#rrggbb". */
export function xterm256(n: number): string {
  const hex = (v: number) => v.toString(16).padStart(2, "0");
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `#${hex(v)}${hex(v)}${hex(v)}`;
  }
  const i = n - 16;
  const level = (x: number) => (x === 0 ? 0 : 55 + x * 40);
  return `#${hex(level(Math.floor(i / 36)))}${hex(level(Math.floor(i / 6) % 6))}${hex(level(i % 6))}`;
}
