// wasm-conv2d/tfjs in Deno, Bun and Node: test/runtimes/tfjs-check.ts registers the plugin with @tensorflow/tfjs 4.22.0 and checks it against tfjs-cpu's own kernels on "wasm" and "cpu", then model.fit (one thread and two).
//
// tfjs-backend-wasm loads in all three (its Emscripten glue takes its Node path in Deno and Bun too),
// so each runtime checks both backends; the report says which it checked and the test requires both.

import { describe, it, expect } from "vitest";
import { SEED, binary, run } from "./harness.ts";
import { TFJS_REPORT_PREFIX, PLUGIN_KERNELS, type TfjsReport } from "../browser/tfjs-suite.ts";

const CASES = 30;
const THREADS = 2;
const ARGS = ["test/runtimes/tfjs-check.ts", String(SEED), String(CASES), String(THREADS)];

function parse(stdout: string): TfjsReport {
  const line = stdout.split("\n").find((l) => l.startsWith(TFJS_REPORT_PREFIX));
  if (!line) throw new Error(`no report in the output:\n${stdout}`);
  return JSON.parse(line.slice(TFJS_REPORT_PREFIX.length)) as TfjsReport;
}

/** Every check passed, on both backends, every kernel within 1e-4; a failure names the check and the seed to replay. */
function expectPassed(report: TfjsReport): void {
  const failures = report.checks.filter((c) => !c.passed).map((c) => `${c.name}: ${c.detail}`);
  expect(failures, `${report.runtime}, seed ${report.seed} (replay: PORTABLE_SEED=${report.seed})`).toEqual([]);
  expect(report.passed).toBe(true);
  expect(report.backends).toEqual(["wasm", "cpu"]);
  expect(report.cases).toBe(CASES);
  for (const group of ["gradients", "kernels", "training", "threads"]) {
    expect(report.checks.some((c) => c.group === group), group).toBe(true);
  }
  for (const backend of report.backends) {
    for (const kernel of PLUGIN_KERNELS) expect(report.worst[`${kernel}@${backend}`], `${kernel}@${backend}`).toBeLessThanOrEqual(1e-4);
    const losses = report.losses[`${backend}, registerTfjsKernels(tf)`]!;
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]!);
    expect(report.losses[`${backend}, ${THREADS} threads, fixed`]).toEqual(report.losses[`${backend}, 1 thread, fixed`]);
  }
}

describe("wasm-conv2d/tfjs in other runtimes", () => {
  it("Deno: the plugin's kernels equal tfjs-cpu's on wasm and cpu, and model.fit trains", async () => {
    const report = parse(await run(binary("deno"), ["run", "--no-lock", "--allow-read", "--allow-env", ...ARGS], { DENO_NO_UPDATE_CHECK: "1" }));
    expect(report.runtime).toMatch(/^Deno /);
    expectPassed(report);
  });

  it("Bun: the plugin's kernels equal tfjs-cpu's on wasm and cpu, and model.fit trains", async () => {
    const report = parse(await run(binary("bun"), ARGS));
    expect(report.runtime).toMatch(/^Bun /);
    expectPassed(report);
  });

  it("Node (tsx): the plugin's kernels equal tfjs-cpu's on wasm and cpu, and model.fit trains", async () => {
    const report = parse(await run(binary("tsx"), ARGS));
    expect(report.runtime).toMatch(/^Node /);
    expectPassed(report);
  });
});
