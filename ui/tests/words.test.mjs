// Unit tests of src/words.ts: builds described in words.
import { test } from "node:test";
import assert from "node:assert/strict";
import { build } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = await build({ entryPoints: [join(here, "../src/words.ts")], bundle: true, write: false, format: "esm" });
const words = await import("data:text/javascript;base64," + Buffer.from(out.outputFiles[0].text).toString("base64"));

test("why a build exists", () => {
  assert.equal(words.triggerWords({ type: "manual" }), "manual");
  assert.equal(words.triggerWords({ type: "manual", user: "alice" }), "manual, by alice");
  assert.equal(words.triggerWords({ type: "resource", resource: "git.repo", version_id: 12 }), "new version of git.repo (version 12)");
  assert.equal(words.triggerWords({ type: "passed", resource: "git.repo", version_id: 3 }), "passed upstream: git.repo (version 3)");
  assert.equal(words.triggerWords({ type: "retry", build: "3" }), "retry of #3");
  assert.equal(words.triggerWords({ type: "retry", build: "3", user: "bob" }), "retry of #3, by bob");
  assert.equal(words.triggerWords({ type: "version", resource: "cron.t", version_id: 2 }), "triggered with version 2 of cron.t");
  assert.equal(words.triggerWords(null), "");
});

test("why a build waits", () => {
  assert.equal(words.blockedByWords("approval"), "waiting for approval");
  assert.equal(words.blockedByWords("workers busy"), "every worker slot is busy");
  assert.equal(words.blockedByWords("no worker with tags [gpu]"), "no worker has the tags it needs ([gpu])");
  assert.equal(words.blockedByWords("group:deploy-prod"), "another build of concurrency group deploy-prod runs first");
  assert.equal(words.blockedByWords("serial_group:db"), "another build of serial group db runs");
  assert.equal(words.blockedByWords("something new"), "something new");
  assert.equal(words.isFinished("started"), false);
  assert.equal(words.isFinished("warning"), true);
});
