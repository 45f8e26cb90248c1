// Unit tests of the log model (src/log/): the ANSI parser, lines, search, the SSE reader and
// the step tree. No browser: the TypeScript is bundled by esbuild and imported.
import { test } from "node:test";
import assert from "node:assert/strict";
import { build } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const bundled = await build({
  stdin: {
    contents: `export * from "./ansi"; export * from "./lines"; export * from "./sse"; export * from "./steps";`,
    resolveDir: join(here, "../src/log"),
    loader: "ts",
  },
  bundle: true, write: false, format: "esm", platform: "neutral",
});
const log = await import("data:text/javascript;base64," + Buffer.from(bundled.outputFiles[0].text).toString("base64"));

const texts = (segs) => segs.map((s) => [s.text, s.style.fg, s.style.bold]);

test("SGR colours, bold and reset become styled segments", () => {
  const { segments, end } = log.parseLine("\x1b[31mred\x1b[0m plain \x1b[1;32mbold green\x1b[0m");
  assert.deepEqual(texts(segments), [["red", 1, false], [" plain ", null, false], ["bold green", 2, true]]);
  assert.equal(end, log.plain);
});

test("bright, background, 256-colour and truecolor codes", () => {
  const { segments } = log.parseLine("\x1b[91ma\x1b[44mb\x1b[38;5;208mc\x1b[38;2;1;2;3md\x1b[39;49me");
  assert.equal(segments[0].style.fg, 9);
  assert.equal(segments[1].style.bg, 4);
  assert.equal(segments[2].style.fg, 208);
  assert.equal(segments[3].style.fg, "#010203");
  assert.equal(segments[4].style.fg, null);
  assert.equal(segments[4].style.bg, null);
  assert.deepEqual(log.styleClasses(segments[1].style).cls, "ansi-fg-9 ansi-bg-4");
  assert.deepEqual(log.styleClasses(segments[2].style).css, { color: log.xterm256(208) });
  assert.equal(log.xterm256(196), "#ff0000");
  assert.equal(log.xterm256(232), "#080808");
});

test("a style carries over to the next line; other escapes are dropped", () => {
  const first = log.parseLine("\x1b[33mstart");
  const second = log.parseLine("still yellow\x1b[K\x1b]0;title\x07!", first.end);
  assert.deepEqual(texts(second.segments), [["still yellow!", 3, false]]);
});

test("carriage returns: CRLF keeps the line, a lone CR starts it over", () => {
  assert.equal(log.plainText("done\r"), "done");
  assert.equal(log.plainText("10%\r50%\r100%"), "100%");
  assert.equal(log.plainText("<b>&amp;</b>"), "<b>&amp;</b>");
});

test("a malformed or huge SGR does not throw", () => {
  assert.doesNotThrow(() => log.parseLine("\x1b[38;5mx\x1b[38;2;999;-1;3mY\x1b[" + "1;".repeat(10000) + "m"));
  assert.equal(log.plainText("\x1b[38;5mx"), "x");
});

test("matches are marked across segments, case-insensitively", () => {
  const { segments } = log.parseLine("ab\x1b[31mcD\x1b[0mef cd");
  const marked = log.markMatches(segments, "bcd");
  assert.deepEqual(marked.map((s) => [s.text, !!s.mark]), [["a", false], ["b", true], ["cD", true], ["ef cd", false]]);
  assert.equal(log.markMatches(segments, "").length, segments.length);
});

test("chunks split anywhere are joined into lines; styles follow", () => {
  const l = new log.LogLines();
  l.append("one\ntw", null);
  l.append("o\n\x1b[32mthr", 5);
  l.append("ee\nfour", 6);
  assert.deepEqual(l.lines, ["one", "two", "\x1b[32mthree", "four"]);
  assert.deepEqual(l.times, [null, null, 5, 6]);
  assert.equal(l.styles[3].fg, 2);
  l.append("\n", 7);
  assert.equal(l.length, 4);
  l.append("five\n", 8);
  assert.deepEqual(l.lines.slice(3), ["four", "five"]);
});

test("search finds lines by their visible text", () => {
  const l = new log.LogLines();
  l.append("alpha\n\x1b[31mBeta\x1b[0m\ngamma beta\n", null);
  assert.deepEqual(log.searchLines(l, "beta"), [1, 2]);
  assert.deepEqual(log.searchLines(l, "31m"), []);
  assert.deepEqual(log.searchLines(l, ""), []);
});

test("the visible window of a long log is a few dozen lines", () => {
  assert.deepEqual(log.visibleRange(100000, 20, 0, 480, 20), [0, 44]);
  assert.deepEqual(log.visibleRange(100000, 20, 20000, 480, 20), [980, 1044]);
  assert.deepEqual(log.visibleRange(10, 20, 0, 480, 20), [0, 10]);
});

test("a 4 MiB log is split and searched quickly", () => {
  const l = new log.LogLines();
  const line = "\x1b[32mline\x1b[0m " + "x".repeat(60) + "\n";
  const n = Math.ceil((4 << 20) / line.length);
  const t0 = Date.now();
  l.append(line.repeat(n - 1) + "needle here\n", null);
  assert.equal(l.length, n);
  assert.deepEqual(log.searchLines(l, "needle"), [n - 1]);
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
});

test("the SSE reader joins events split across reads and reports comments", () => {
  const p = new log.SseParser();
  assert.deepEqual(p.feed("event: log\ndata: {\"a\""), []);
  assert.deepEqual(p.feed(":1}\n\n: stream open\n\nevent: end\r\ndata: x\r\ndata: y\r\n\r\n"), [
    { type: "log", data: "{\"a\":1}" }, { comment: "stream open" }, { type: "end", data: "x\ny" }]);
});

test("the SSE reader keeps the last event id as a browser does", () => {
  const p = new log.SseParser();
  assert.equal(p.lastId, "");
  p.feed("id: 1.2:0.5\nevent: log\ndata: {}\n\n");
  assert.equal(p.lastId, "1.2:0.5");
  p.feed("event: build\ndata: {}\n\nid: 1.3\ndata: x\n");
  assert.equal(p.lastId, "1.2:0.5"); // an event without an id keeps it; a half event does not count
  p.feed("\n");
  assert.equal(p.lastId, "1.3");
});

const step = (id, parent, type, name, status = "started", job_hook = false) =>
  ({ id, parent, type, name, status, job_hook, started_at: null, finished_at: null });

test("steps nest by parent, hooks under their step, attempts apart", () => {
  const b = new log.BuildSteps();
  b.attempt(1, "--- attempt 1 (worker w1) ---");
  b.step(step("0", "", "task", "build"));
  b.log("0", "out\n", null);
  b.step(step("0:h0", "", "hook", "build:on_failure"));
  b.step(step("1", "", "in_parallel", "in_parallel"));
  b.step(step("1.0", "1", "task", "a"));
  b.step(step("0", "", "task", "build", "failed"));
  b.step(step("j:h0", "", "hook", "ensure", "started", true));
  const first = b.current;
  assert.deepEqual(first.steps.map((s) => s.id), ["0", "1"]);
  assert.equal(first.steps[0].status, "failed");
  assert.deepEqual(first.steps[0].hooks.map((s) => s.id), ["0:h0"]);
  assert.deepEqual(first.steps[1].children.map((s) => s.id), ["1.0"]);
  assert.deepEqual(first.jobHooks.map((s) => s.id), ["j:h0"]);
  assert.equal(b.attempts.length, 1);
  b.attempt(2, "--- attempt 2 (worker w1 lost) ---");
  b.step(step("0", "", "task", "build"));
  b.log("0", "again\n", 1);
  assert.equal(b.attempts.length, 2);
  assert.equal(b.find("a1.0").log.lines[0], "out");
  assert.equal(b.find("0").log.lines[0], "again");
  assert.deepEqual(b.all().map((s) => s.key), ["a1.0", "a1.0:h0", "a1.1", "a1.1.0", "a1.j:h0", "0"]);
  assert.ok(log.openByDefault(first.steps[0]));
});

test("a step id finds its node of the resolved plan", () => {
  const plan = { steps: [
    { kind: "task", name: "t", branches: [], children: [] },
    { kind: "if", name: "c", branches: [
      { kind: "if", label: "c", condition: "$A == '1'", steps: [{ kind: "task", name: "deep", branches: [], children: [] }] },
      { kind: "else", label: "", condition: "", steps: [] }], children: [] },
    { kind: "in_parallel", name: "p", branches: [], children: [{ kind: "task", name: "x" }] }] };
  assert.equal(log.planNodeFor(plan, "1.0").condition, "$A == '1'");
  assert.equal(log.planNodeFor(plan, "1.0.0").name, "deep");
  assert.equal(log.planNodeFor(plan, "2.0").name, "x");
  assert.equal(log.planNodeFor(plan, "s0:start"), null);
  assert.equal(log.planNodeFor(plan, "9"), null);
  assert.equal(log.planNodeFor(null, "0"), null);
});

test("a build's stream that breaks is opened again with Last-Event-ID, without starting over", async () => {
  const followBundle = await build({
    stdin: { contents: `export * from "./follow";`, resolveDir: join(here, "../src/log"), loader: "ts" },
    bundle: true, write: false, format: "esm", platform: "neutral",
  });
  const { followBuild } = await import(
    "data:text/javascript;base64," + Buffer.from(followBundle.outputFiles[0].text).toString("base64"));
  const answers = [
    'id: 0.0\nevent: build\ndata: {}\n\nid: 1.1:0.4\nevent: log\ndata: {"step":"0","chunk":"one\\n"}\n\n',
    'id: 1.1:0.4\nevent: build\ndata: {}\n\nid: 1.1:0.8\nevent: log\ndata: {"step":"0","chunk":"two\\n"}\n\n',
    'id: 0.0\nevent: reset\ndata: {}\n\nid: 0.0\nevent: build\ndata: {}\n\nid: 1.1\nevent: end\ndata: {}\n\n',
  ];
  const sent = [];
  const saved = globalThis.fetch;
  globalThis.fetch = async (_url, init) => {
    sent.push(init.headers["Last-Event-ID"] ?? "");
    return new Response(answers.shift() ?? "", { status: 200 });
  };
  const seen = [];
  try {
    await new Promise((resolve) => {
      followBuild("/events", {
        reset: () => seen.push("reset"),
        event: (type, data) => {
          seen.push(type === "log" ? data.chunk : type);
          if (type === "end") resolve();
        },
        failed: () => resolve(),
      });
    });
  } finally {
    globalThis.fetch = saved;
  }
  assert.deepEqual(sent, ["", "1.1:0.4", "1.1:0.8"]);
  assert.deepEqual(seen, ["reset", "build", "one\n", "build", "two\n", "reset", "build", "end"]);
});
