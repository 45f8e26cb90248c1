// What every browser test shares: a real pikoci-node started on port 0 from the build, an admin
// client for setting things up over the API, and Debian's Chromium driven headless.
//   PIKOCI_NODE   the node binary (default ../build/pikoci-node from this folder)
//   CHROMIUM      the browser (default /usr/bin/chromium)
//   SCREENSHOTS   where pages are saved as PNG (default ../build/ui-screenshots)
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const nodeBinary = process.env.PIKOCI_NODE ?? resolve(here, "../../build/pikoci-node");
export const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const screenshotDir = process.env.SCREENSHOTS ?? resolve(here, "../../build/ui-screenshots");
export const adminPassword = "admin-password-for-tests";

/** Starts a node (in memory unless `args` say otherwise). Resolves once it listens. */
export async function startNode(args = [], { timeoutMs = 20000 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "pikoci-ui-"));
  const child = spawn(nodeBinary, ["--role", "server", "--host", "127.0.0.1", "--port", "0",
    "--jwt-secret", "ui-test-secret", "--admin-password", adminPassword, ...args],
    { stdio: ["ignore", "pipe", "pipe"], cwd: dir });
  let output = "";
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`node not ready:\n${output}`)), timeoutMs);
    const onData = (chunk) => {
      output += chunk;
      if (output.length > 4 << 20) output = output.slice(-(1 << 20));
      const m = /event=node\.ready url=(\S+)/.exec(output);
      if (m) { clearTimeout(timer); ok(m[1]); }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => { clearTimeout(timer); fail(new Error(`node exited ${code}:\n${output}`)); });
  });
  const token = (await request(url, "POST", "/api/v1/login", { username: "admin", password: adminPassword })).token;
  const node = {
    url, dir, token,
    /** An API call as admin: JSON in, JSON out; throws on a status outside 2xx. */
    api: (method, path, body) => request(url, method, path, body, token),
    /** The same, returning {status, json} whatever the status. */
    raw: (method, path, body, tok = token) => rawRequest(url, method, path, body, tok),
    output: () => output,
    async setPipeline(name, config, vars = {}) {
      return node.api("PUT", `/api/v1/pipelines/${encodeURIComponent(name)}`, { config, vars });
    },
    async stop() {
      if (child.exitCode !== null) return;
      const done = new Promise((ok) => child.once("exit", ok));
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 10000);
      await done;
      clearTimeout(t);
    },
  };
  return node;
}

async function rawRequest(base, method, path, body, token) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(base + path, { method, headers,
    body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(30000) });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = { text }; }
  return { status: res.status, json, headers: res.headers };
}

async function request(base, method, path, body, token) {
  const r = await rawRequest(base, method, path, body, token);
  if (r.status < 200 || r.status > 299)
    throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

/** Waits until `f()` is truthy (polling), or throws after `ms`. */
export async function eventually(f, ms = 20000, what = "condition") {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A headless Chromium; `page({width, height})` opens a fresh context (its own cookies). */
export async function openBrowser() {
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  return {
    browser,
    async page({ width = 1280, height = 800 } = {}) {
      const context = await browser.newContext({ viewport: { width, height } });
      const page = await context.newPage();
      page.setDefaultTimeout(15000);
      const problems = [];
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
      page.problems = problems;
      return page;
    },
    close: () => browser.close(),
  };
}

/** Logs in through the login page as `username` and waits for the dashboard. */
export async function login(page, node, username = "admin", password = adminPassword, path = "/") {
  await page.goto(node.url + path);
  await page.getByLabel("User name").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("button", { name: "Log out" }).waitFor();
}

/** Saves the page as build/ui-screenshots/NAME.png. */
export async function screenshot(page, name) {
  mkdirSync(screenshotDir, { recursive: true });
  const file = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

/** Runs axe-core in the page; returns the serious and critical violations. */
export async function accessibilityProblems(page) {
  const { createRequire } = await import("node:module");
  const source = (await import("node:fs")).readFileSync(
    createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
  await page.addScriptTag({ content: source }).catch(async () => {
    // a strict CSP refuses inline scripts: evaluate in the page's isolated world instead
    await page.evaluate(source);
  });
  const result = await page.evaluate(async () => await window.axe.run(document, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }));
  return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join("; ")})`);
}

/** Writes a file into a temporary folder and returns its path. */
export function tempFile(name, text) {
  const dir = mkdtempSync(join(tmpdir(), "pikoci-ui-file-"));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}
