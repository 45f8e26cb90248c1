// Browser-measured UI benchmarks: a real node (Release build when there is one) and Debian's
// Chromium headless, driven by ui/tests/harness.mjs. Prints one JSON line per figure in
// bench/run's format, then a table.
//   node bench/ui/run.mjs [--quick] [--node PATH] [SCENARIO...]
// Scenarios: pipeline (navigation → a rendered 250-job pipeline graph), dashboard (navigation →
// a rendered dashboard of 100 pipelines × 10 jobs), log (a log line printed by a task → painted
// in the build page), idle (CPU of an open dashboard doing nothing for 60 s). --quick: small
// sizes, two runs, a 3 s idle window (the CTest smoke).
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const nodeAt = args.indexOf("--node");
const named = args.filter((a, i) => !a.startsWith("--") && args[i - 1] !== "--node");
const scenarios = named.length ? named : ["pipeline", "dashboard", "log", "idle"];
process.env.PIKOCI_NODE = nodeAt >= 0 ? resolve(args[nodeAt + 1])
  : process.env.PIKOCI_NODE ?? [resolve(root, "build-bench/pikoci-node"), resolve(root, "build/pikoci-node")]
    .find((p) => existsSync(p));
const { startNode, openBrowser, adminPassword } = await import("../../ui/tests/harness.mjs");

const sizes = quick
  ? { runs: 2, stages: 3, lanes: 10, pipelines: 10, jobsEach: 5, lines: 40, idleS: 3 }
  : { runs: 10, stages: 25, lanes: 10, pipelines: 100, jobsEach: 10, lines: 300, idleS: 60 };
const results = [];

/** One figure, summarized like bench/report.hpp: min, median, (p99), max. */
function report(scenario, metric, unit, values, { p99 = false, target = 0, extra = {} } = {}) {
  const v = [...values].sort((a, b) => a - b);
  if (!v.length) throw new Error(`${scenario} ${metric}: no samples`);
  const at = (q) => Math.round(v[Math.min(v.length - 1, Math.floor(q * v.length))] * 1000) / 1000;
  const line = { scenario, metric, unit, runs: v.length, min: at(0), median: at(0.5) };
  if (p99) line.p99 = at(0.99);
  Object.assign(line, { max: at(1), target, ...extra });
  console.log(JSON.stringify(line));
  results.push(line);
}

// A realistic big pipeline: `lanes` cron resources and one shared; jobs in `stages`, each getting
// its lane's resource after the previous stage's job of the lane, and the shared resource after
// that job and its neighbour (fan-in edges across lanes).
function bigPipeline(stages, lanes) {
  const out = ['resource "cron" "shared" {\n  check_interval = "@every 24h"\n}\n'];
  for (let k = 0; k < lanes; k++) out.push(`resource "cron" "src-${k}" {\n  check_interval = "@every 24h"\n}\n`);
  for (let s = 0; s < stages; s++)
    for (let k = 0; k < lanes; k++) {
      const prev = s === 0 ? [] : [`stage-${s - 1}-${k}`];
      const fan = s === 0 ? [] : [...new Set([`stage-${s - 1}-${k}`, `stage-${s - 1}-${(k + 1) % lanes}`])];
      out.push(`job "stage-${s}-${k}" {
  get "cron" "src-${k}" {
    passed = ${JSON.stringify(prev)}
  }
  get "cron" "shared" {
    passed = ${JSON.stringify(fan)}
  }
  task "build" {
    run "shell" {
      cmd = "echo building stage ${s} lane ${k}"
    }
  }
}
`);
    }
  return out.join("");
}

function smallPipeline(jobs) {
  const out = ['resource "cron" "src" {\n  check_interval = "@every 24h"\n}\n'];
  for (let j = 0; j < jobs; j++)
    out.push(`job "job-${j}" {
  get "cron" "src" {
    passed = ${JSON.stringify(j === 0 ? [] : [`job-${j - 1}`])}
  }
  task "t" {
    run "shell" {
      cmd = "echo ${j}"
    }
  }
}
`);
  return out.join("");
}

/** A fresh browser context (cold cache) signed in through the session route. */
async function signedIn(browser, node, viewport = { width: 1280, height: 800 }) {
  const context = await browser.browser.newContext({ viewport });
  const r = await context.request.post(node.url + "/api/v1/session",
    { data: { username: "admin", password: adminPassword } });
  if (!r.ok()) throw new Error(`POST /session: ${r.status()}`);
  return context;
}

/** Installs, before any page script, an observer that stamps (performance.now(), ms since the
 *  navigation started) when `condition` first holds and when the frame after it ran. */
function readyProbe(condition) {
  return `(() => {
    const b = window.__bench = { ready: null, painted: null };
    const check = () => {
      if (b.ready !== null || !(${condition})) return;
      b.ready = performance.now();
      obs.disconnect();
      requestAnimationFrame(() => setTimeout(() => { b.painted = performance.now(); }, 0));
    };
    const obs = new MutationObserver(check);
    obs.observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["aria-busy"] });
  })();`;
}

async function timeToRendered(browser, node, url, condition, runs) {
  const ready = [], painted = [];
  for (let i = 0; i < runs; i++) {
    const context = await signedIn(browser, node);
    await context.addInitScript({ content: readyProbe(condition) });
    const page = await context.newPage();
    await page.goto(node.url + url);
    await page.waitForFunction(() => window.__bench?.painted !== null, null, { timeout: 60000 })
      .catch(() => { throw new Error(`${url} never became rendered: ${condition.replace(/\s+/g, " ")}`); });
    const b = await page.evaluate(() => window.__bench);
    ready.push(b.ready);
    painted.push(b.painted);
    await context.close();
  }
  return { ready, painted };
}

async function pipelineScenario(browser) {
  const node = await startNode();
  try {
    const jobs = sizes.stages * sizes.lanes;
    await node.setPipeline("big", bigPipeline(sizes.stages, sizes.lanes));
    // the first stage has run once, so the graph shows statuses
    for (let k = 0; k < sizes.lanes; k++)
      await node.api("POST", `/api/v1/pipelines/big/resources/src-${k}/versions`, { version: { n: "1" } });
    await node.api("POST", "/api/v1/pipelines/big/resources/shared/versions", { version: { n: "1" } });
    for (let k = 0; k < sizes.lanes; k++)
      await node.api("POST", `/api/v1/pipelines/big/jobs/stage-0-${k}/trigger`);
    const cond = `document.querySelector('[data-page=pipeline][aria-busy=false]') &&
      document.querySelectorAll('[data-page=pipeline] svg [data-node]').length >= ${jobs}`;
    const t = await timeToRendered(browser, node, "/pipelines/big", cond, sizes.runs);
    report(`ui.pipeline_${jobs}_jobs`, "navigation_to_painted", "ms", t.painted, { target: 1000 });
    report(`ui.pipeline_${jobs}_jobs`, "navigation_to_rendered", "ms", t.ready);
  } finally {
    await node.stop();
  }
}

async function dashboardNode() {
  const node = await startNode();
  for (let p = 0; p < sizes.pipelines; p++)
    await node.setPipeline(`pipeline-${String(p).padStart(3, "0")}`, smallPipeline(sizes.jobsEach));
  return node;
}

async function dashboardScenario(browser, node) {
  const cond = `document.querySelector('[data-page=dashboard][aria-busy=false]') &&
    Array.from(document.querySelectorAll('[data-page=dashboard] a[href^="/pipelines/"]'))
      .filter((a) => a.getAttribute("href").split("/").length === 3).length >= ${sizes.pipelines}`;
  const t = await timeToRendered(browser, node, "/", cond, sizes.runs);
  const name = `ui.dashboard_${sizes.pipelines}x${sizes.jobsEach}`;
  report(name, "navigation_to_painted", "ms", t.painted);
  report(name, "navigation_to_rendered", "ms", t.ready);
}

// Renderer CPU from Chromium itself (per-process CPU time), the page's main-thread busy time
// (Performance.getMetrics TaskDuration), and the node's CPU (its process_cpu_seconds_total).
async function idleScenario(browser, node) {
  const context = await signedIn(browser, node);
  await context.addInitScript({ content: readyProbe("document.querySelector('[data-page=dashboard][aria-busy=false]')") });
  const page = await context.newPage();
  await page.goto(node.url + "/");
  await page.waitForFunction(() => window.__bench?.painted !== null, null, { timeout: 60000 });
  await page.waitForTimeout(2000);
  const cdp = await context.newCDPSession(page);
  await cdp.send("Performance.enable");
  const sys = await browser.browser.newBrowserCDPSession();
  const taskTime = async () => (await cdp.send("Performance.getMetrics")).metrics
    .find((m) => m.name === "TaskDuration").value;
  const rendererCpu = async () => {
    const { processInfo } = await sys.send("SystemInfo.getProcessInfo");
    return processInfo.filter((p) => p.type === "renderer").reduce((s, p) => s + p.cpuTime, 0);
  };
  const nodeCpu = async () => {
    const text = await (await fetch(node.url + "/metrics")).text();
    return Number(/^process_cpu_seconds_total (\S+)/m.exec(text)[1]);
  };
  const before = [await taskTime(), await rendererCpu(), await nodeCpu(), performance.now()];
  await new Promise((r) => setTimeout(r, sizes.idleS * 1000));
  const after = [await taskTime(), await rendererCpu(), await nodeCpu(), performance.now()];
  const secs = (after[3] - before[3]) / 1000;
  const pct = (i) => [((after[i] - before[i]) / secs) * 100];
  const name = "ui.idle_dashboard";
  const extra = { seconds: Math.round(secs) };
  report(name, "renderer_cpu", "%", pct(1), { extra });
  report(name, "main_thread_busy", "%", pct(0), { extra });
  report(name, "node_cpu", "%", pct(2), { extra });
  await context.close();
}

// A task prints numbered lines stamped with the wall clock (ms); the build page, opened before
// the first line, notes when each appears in a `[data-log] [data-line]` element and when the
// frame after that ran. Same machine, same clock.
async function logScenario(browser) {
  const node = await startNode();
  try {
    await node.setPipeline("logs", `job "print" {
  task "lines" {
    run "shell" {
      cmd = "sleep 3; i=0; while [ $i -lt ${sizes.lines} ]; do echo \\"line $i stamp $(date +%s%3N)\\"; i=$((i+1)); sleep 0.02; done"
    }
  }
}
`);
    const { build } = await node.api("POST", "/api/v1/pipelines/logs/jobs/print/trigger");
    const context = await signedIn(browser, node);
    await context.addInitScript({ content: `(() => {
      const seen = new Set(), delays = [];
      let pending = [], scheduled = false;
      window.__log = { delays, since: Date.now() };
      const scan = () => {
        for (const el of document.querySelectorAll('[data-log] [data-line]')) {
          const m = /line (\\d+) stamp (\\d{13})/.exec(el.textContent || "");
          if (!m || seen.has(m[1])) continue;
          seen.add(m[1]);
          pending.push(Number(m[2]));
        }
        if (pending.length && !scheduled) {
          scheduled = true;
          requestAnimationFrame(() => setTimeout(() => {
            const t = Date.now();
            for (const s of pending) delays.push(t - s);
            pending = [];
            scheduled = false;
          }, 0));
        }
      };
      new MutationObserver(scan).observe(document, { subtree: true, childList: true, characterData: true });
    })();` });
    const page = await context.newPage();
    await page.goto(node.url + `/pipelines/logs/jobs/print/builds/${build.number}`);
    await page.locator("[data-page=build][aria-busy=false]").waitFor({ timeout: 30000 });
    const want = Math.floor(sizes.lines * 0.9);
    await page.waitForFunction((n) => window.__log.delays.length >= n, want,
      { timeout: 20000 + sizes.lines * 100 }).catch(() => {});
    await page.waitForTimeout(500);
    const delays = await page.evaluate(() => window.__log.delays);
    report("ui.log_line", "printed_to_painted", "ms", delays, { p99: true,
      extra: { lines: sizes.lines, seen: delays.length } });
    await context.close();
  } finally {
    await node.stop();
  }
}

const browser = await openBrowser();
try {
  for (const s of scenarios) {
    if (s === "pipeline") await pipelineScenario(browser);
    else if (s === "log") await logScenario(browser);
    else if (s === "dashboard" || s === "idle") {
      // both use the same 100 pipelines; set them once
      if (scenarios.indexOf(s) !== scenarios.findIndex((x) => x === "dashboard" || x === "idle")) continue;
      const node = await dashboardNode();
      try {
        if (scenarios.includes("dashboard")) await dashboardScenario(browser, node);
        if (scenarios.includes("idle")) await idleScenario(browser, node);
      } finally {
        await node.stop();
      }
    } else throw new Error(`unknown scenario: ${s} (pipeline, dashboard, log, idle)`);
  }
} finally {
  await browser.close();
}

const col = (v, w) => String(v).padStart(w);
console.log(`\n${"scenario".padEnd(28)} ${"metric".padEnd(24)} ${"unit".padEnd(4)} ${col("runs", 5)} ${col("min", 9)} ${col("median", 9)} ${col("p99", 9)} ${col("max", 9)} ${col("target", 7)}`);
for (const r of results)
  console.log(`${r.scenario.padEnd(28)} ${r.metric.padEnd(24)} ${r.unit.padEnd(4)} ${col(r.runs, 5)} ${col(r.min.toFixed(2), 9)} ${col(r.median.toFixed(2), 9)} ${col(r.p99 !== undefined ? r.p99.toFixed(2) : "-", 9)} ${col(r.max.toFixed(2), 9)} ${col(r.target, 7)}`);
