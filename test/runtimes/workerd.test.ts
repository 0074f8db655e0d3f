// workerd through miniflare: a Worker importing the .wasm and the model fixtures as modules runs the portable suite, forward and backward; checked against the reference.

import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { readFileSync } from "node:fs";
import { readFile, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { bundle } from "../../examples/bundle.mjs";
import { referenceConv2d, firstMismatch } from "../reference/conv2d.ts";
import { HASH_CASES } from "../portable/hash.ts";
import { referenceConfig, randomData } from "../portable/cases.ts";
import { MODEL_FIXTURE_DIR, MODEL_FIXTURES, type SuiteReport } from "../portable/suite.ts";
import { ROOT, SEED, expectPassed, nodeHash } from "./harness.ts";

interface WorkerAnswer { report: SuiteReport; caseIndex: number; results: number[][]; wasmIsModule: boolean; bytesRefused: string }

describe("in workerd", () => {
  let dir: string;
  let worker: Miniflare;
  let answer: WorkerAnswer;
  beforeAll(async () => {
    dir = await mkdtemp(join(ROOT, "test/runtimes/.tmp-"));
    // The onnx subpath and @bufbuild/protobuf are bundled in; the fixtures stay imports, linked as Data modules below.
    await bundle({ entry: join(ROOT, "test/portable/worker.ts"), outfile: join(dir, "worker.js"), external: ["*.onnx", "*.safetensors"] });
    // The modules are listed, not discovered: miniflare refuses to follow init()'s computed import of
    // node:fs/promises (only reached for file: URLs, never in a worker), as wrangler's bundler leaves it.
    worker = new Miniflare({
      modulesRoot: dir,
      modules: [
        { type: "ESModule", path: join(dir, "worker.js"), contents: await readFile(join(dir, "worker.js"), "utf8") },
        { type: "CompiledWasm", path: join(dir, "wasm-conv2d/wasm/conv2d-simd.wasm"), contents: await readFile(join(ROOT, "build/conv2d-simd.wasm")) },
        ...MODEL_FIXTURES.map((name) => ({ type: "Data" as const, path: join(dir, MODEL_FIXTURE_DIR, name), contents: readFileSync(join(ROOT, MODEL_FIXTURE_DIR, name)) })),
      ],
      compatibilityDate: "2025-01-01",
    });
    const response = await worker.dispatchFetch(`http://localhost/?seed=${SEED}`);
    if (!response.ok) throw new Error(`the worker answered ${response.status}: ${await response.text()}`);
    answer = (await response.json()) as WorkerAnswer;
  });
  afterAll(async () => {
    await worker?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("gets the .wasm as a WebAssembly.Module import (compiling bytes is refused there) and passes the portable suite", () => {
    expect(answer.wasmIsModule).toBe(true);
    expect(answer.bytesRefused).toMatch(/disallowed/i);
    expect(answer.report.runtime).toBe("workerd");
    // The shuffle form here (js/core/features.ts), the load form in Node: the hash below matches all the same.
    expect(answer.report.broadcast).toBe("shuffle");
    expectPassed(answer.report);
  });

  it("computes forward and backward in the worker as the float64 reference does", () => {
    const c = HASH_CASES[answer.caseIndex]!;
    const xData = randomData(c.seed, c.N * c.C * c.H * c.W);
    const wData = randomData(c.seed + 1, c.F * (c.C / c.groups) * c.KH * c.KW);
    const bData = c.bias ? randomData(c.seed + 2, c.F) : null;
    const ref = referenceConfig(c)!;
    const shape = referenceConv2d(ref, xData, wData, bData);
    const dyData = randomData(c.seed + 3, shape.out.length);
    const expected = referenceConv2d(ref, xData, wData, bData, dyData);
    const [out, dx, dw, db] = answer.results;
    expect(firstMismatch(out!, expected.out)).toBeNull();
    expect(firstMismatch(dx!, expected.dx)).toBeNull();
    expect(firstMismatch(dw!, expected.dw)).toBeNull();
    expect(firstMismatch(db!, expected.db)).toBeNull();
  });

  it("reproduces Node's results hash bit for bit", async () => {
    expect(answer.report.hash).toBe(await nodeHash());
  });
});
