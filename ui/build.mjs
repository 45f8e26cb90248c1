// Builds the UI into one directory the node embeds: index.html plus content-hashed assets.
//   node build.mjs --out DIR [--dev]
// The bundle is minified and has no source maps unless --dev; nothing is fetched at run time.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const outAt = args.indexOf("--out");
if (outAt < 0 || !args[outAt + 1]) {
  console.error("usage: node build.mjs --out DIR [--dev]");
  process.exit(2);
}
const out = args[outAt + 1];
const dev = args.includes("--dev");

const result = await build({
  entryPoints: [join(here, "src/main.tsx")],
  bundle: true,
  minify: !dev,
  sourcemap: dev ? "inline" : false,
  format: "esm",
  target: ["es2022"],
  jsx: "automatic",
  jsxImportSource: "preact",
  write: false,
  outdir: "out",
  entryNames: "app",
  logLevel: "warning",
  legalComments: "none",
});

const hash = (bytes) => createHash("sha256").update(bytes).digest("hex").slice(0, 12);
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "assets"), { recursive: true });
const names = {};
for (const file of result.outputFiles) {
  const ext = file.path.endsWith(".css") ? "css" : "js";
  const name = `app-${hash(file.contents)}.${ext}`;
  writeFileSync(join(out, "assets", name), file.contents);
  names[ext] = name;
}
const css = readFileSync(join(here, "src/styles.css"));
const cssName = `style-${hash(css)}.css`;
writeFileSync(join(out, "assets", cssName), css);
const icon = readFileSync(join(here, "src/icon.svg"));
const iconName = `icon-${hash(icon)}.svg`;
writeFileSync(join(out, "assets", iconName), icon);

const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>pikoci-node</title>
<link rel="icon" href="/assets/${iconName}" type="image/svg+xml">
<link rel="stylesheet" href="/assets/${cssName}">
${names.css ? `<link rel="stylesheet" href="/assets/${names.css}">\n` : ""}<script type="module" src="/assets/${names.js}"></script>
</head>
<body>
<div id="app"></div>
<noscript>This page needs JavaScript. The REST API under /api/v1 and the command-line client work without it.</noscript>
</body>
</html>
`;
writeFileSync(join(out, "index.html"), html);
console.log(`ui: ${out}/index.html, assets ${Object.values(names).concat(cssName, iconName).join(", ")}`);
