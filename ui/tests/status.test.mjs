// Unit tests of src/status.ts: which of two views of a build is the newer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { build } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = await build({ entryPoints: [join(here, "../src/status.ts")], bundle: true, write: false, format: "esm" });
const { newerStatus, newerResource } = await import("data:text/javascript;base64," + Buffer.from(out.outputFiles[0].text).toString("base64"));

test("an action's late answer never takes a build back", () => {
  // approved, then run and finished before the approval's answer came back
  assert.equal(newerStatus("succeeded", "pending"), false);
  assert.equal(newerStatus("started", "pending"), false);
  assert.equal(newerStatus("cancelled", "started"), false);
});

test("an action's answer moves a build on", () => {
  assert.equal(newerStatus("waiting_for_approval", "pending"), true);
  assert.equal(newerStatus("waiting_for_approval", "waiting_for_approval"), true); // one approval more
  assert.equal(newerStatus("waiting_for_approval", "failed"), true); // rejected
  assert.equal(newerStatus("started", "cancelled"), true);
  assert.equal(newerStatus("failed", "warning"), true); // marked as warning
  assert.equal(newerStatus("succeeded", "warning"), false);
});

test("a Check now answered after the check ended does not show it running again", () => {
  const answer = { checking: true, last_check_at: "2026-12-03T10:00:00.000Z" };
  const ended = { checking: false, last_check_at: "2026-12-03T10:00:01.000Z" };
  assert.equal(newerResource(ended, answer), false);
  assert.equal(newerResource({ checking: false, last_check_at: "2026-12-03T09:00:00.000Z" }, answer), true);
  assert.equal(newerResource({ checking: false, last_check_at: null }, answer), true);
  assert.equal(newerResource(answer, ended), true);
});
