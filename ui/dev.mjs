// A development server for working on the UI against any running node, with rebuilds on save:
//   node dev.mjs --node http://127.0.0.1:8080 [--port 5173]
// It serves a fresh build of src/ (index.html for every page path) and passes /api/ and
// /metrics through to the node unchanged, so the browser sees one origin, as it does when the
// node serves the UI itself. Not used by the node or by the tests.
import { createServer, request } from "node:http";
import { existsSync, readFileSync, watch } from "node:fs";
import { dirname, extname, join } from "node:path";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const target = new URL(arg("--node", "http://127.0.0.1:8080"));
const port = Number(arg("--port", "5173"));
const out = join(here, "dist-dev");

const rebuild = () => {
  try {
    execFileSync(process.execPath, [join(here, "build.mjs"), "--out", out, "--dev"], { stdio: "inherit" });
  } catch {
    /* the error is printed; the last good build keeps being served */
  }
};
rebuild();
let timer = null;
watch(join(here, "src"), { recursive: true }, () => {
  clearTimeout(timer);
  timer = setTimeout(rebuild, 100);
});

const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css",
  ".svg": "image/svg+xml" };
createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  if (url.pathname.startsWith("/api/") || url.pathname === "/metrics") {
    const up = request({ host: target.hostname, port: target.port, method: req.method,
      path: req.url, headers: { ...req.headers, host: target.host } }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on("error", (e) => { res.writeHead(502); res.end(String(e)); });
    req.pipe(up);
    return;
  }
  const file = url.pathname.startsWith("/assets/") ? join(out, url.pathname) : join(out, "index.html");
  if (!file.startsWith(out) || !existsSync(file)) { res.writeHead(404); res.end(); return; }
  res.writeHead(200, { "Content-Type": types[extname(file)] ?? "application/octet-stream",
    "Cache-Control": "no-store" });
  res.end(readFileSync(file));
}).listen(port, "127.0.0.1", () => console.log(`ui dev server: http://127.0.0.1:${port} -> ${target.href}`));
