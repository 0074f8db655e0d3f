// Shared by the runtime tests: the run's seed, Node's own hash to compare with, the model fixtures' bytes, spawning deno/bun, judging a report.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import * as api from "../../dist/index.js";
import * as onnx from "../../dist/onnx/index.js";
import { resultsHash } from "../portable/hash.ts";
import { MODEL_FIXTURE_DIR, REPORT_PREFIX, readModelFixtures, type ModelInputs, type SuiteReport } from "../portable/suite.ts";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** One seed per test file run, drawn fresh unless PORTABLE_SEED replays a failure. */
export const SEED = process.env.PORTABLE_SEED ? Number(process.env.PORTABLE_SEED) : Math.floor(Math.random() * 2 ** 31);

/** The built onnx subpath and the model fixtures read from disk, as Node passes them to the portable suite. */
export async function nodeModels(): Promise<ModelInputs> {
  return { onnx, fixtures: await readModelFixtures((name) => readFile(`${ROOT}${MODEL_FIXTURE_DIR}${name}`)) };
}

/** The fingerprint computed here, in Node, in this run: what every other runtime must reproduce. */
export async function nodeHash(): Promise<string> {
  return resultsHash(api, await api.init({ simd: "fixed" }), await nodeModels());
}

/** Every check passed; a failure names the check, its detail and how to replay the seed. */
export function expectPassed(report: SuiteReport): void {
  const failures = report.checks.filter((c) => !c.passed).map((c) => `${c.name}: ${c.detail}`);
  expect(failures, `${report.runtime}, seed ${report.seed} (replay: PORTABLE_SEED=${report.seed} npm test)`).toEqual([]);
  expect(report.checks.length).toBeGreaterThanOrEqual(8);
  expect(report.hash).toMatch(/^[0-9a-f]{64}$/);
}

/** A devDependency's binary (deno, bun): missing means a broken install, which fails rather than skips. */
export function binary(name: string): string {
  const path = `${ROOT}node_modules/.bin/${name}`;
  if (!existsSync(path)) throw new Error(`${path} is missing: run npm ci (${name} is a devDependency)`);
  return path;
}

/** Runs a command in the repository root; resolves with its stdout, rejects with stderr on a non-zero exit. */
export function run(command: string, args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, NO_COLOR: "1", ...env }, timeout: timeoutMs });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(" ")} exited with ${code ?? signal}:\n${stderr}\n${stdout}`));
    });
  });
}

/** The report line among a runtime's output. */
export function parseReport(stdout: string): SuiteReport {
  const line = stdout.split("\n").find((l) => l.startsWith(REPORT_PREFIX));
  if (!line) throw new Error(`no report in the output:\n${stdout}`);
  return JSON.parse(line.slice(REPORT_PREFIX.length)) as SuiteReport;
}
