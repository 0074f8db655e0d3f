// Threads: the async and synchronous APIs on 1, 2, 3 and 8 threads give the single-thread build's bits; faults reject, never hang; processes exit.

import { describe, it, expect, afterAll } from "vitest";
import { execFileSync } from "node:child_process";
import * as api from "../../dist/index.js";
import type { Runtime, Tensor, Conv2dOptions } from "../../dist/index.js";
import { binary, run } from "../runtimes/harness.ts";

const rnd = (n: number, seed: number): Float32Array => {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
};

/** Configurations big enough to go to the workers (each direction over 2 MFLOP), one per kernel path. */
const CASES: { name: string; x: number[]; w: number[]; options: Conv2dOptions }[] = [
  { name: "3×3 pad 1 (forward GEMM, dx sweep)", x: [2, 16, 24, 24], w: [24, 16, 3, 3], options: { pad: 1 } },
  { name: "stride 2 (dx scatter in bands, two phases)", x: [1, 12, 40, 40], w: [20, 12, 3, 3], options: { pad: 1, stride: 2 } },
  { name: "groups 2, dilation 2, asymmetric pad", x: [2, 8, 30, 26], w: [16, 4, 3, 3], options: { pad: { top: 2, bottom: 1, left: 2, right: 2 }, dilation: 2, groups: 2 } },
  { name: "depthwise", x: [2, 32, 40, 40], w: [32, 1, 3, 3], options: { pad: 1, groups: 32 } },
  { name: "1×1 with 1,500 pixels (dw over two chunks)", x: [1, 32, 30, 50], w: [40, 32, 1, 1], options: {} },
  { name: "1×1 on 128×128 (a db of 262,144 adds: on the threads too)", x: [1, 8, 128, 128], w: [16, 8, 1, 1], options: {} },
];

/** The four results as raw bits. */
async function results(runtime: Runtime, c: (typeof CASES)[number], useAsync: boolean): Promise<Uint32Array[]> {
  const x = api.tensor(rnd(c.x.reduce((a, b) => a * b), 1), c.x, runtime);
  const w = api.tensor(rnd(c.w.reduce((a, b) => a * b), 2), c.w, runtime);
  const b = api.tensor(rnd(c.w[0]!, 3), [c.w[0]!], runtime);
  const y = useAsync ? await api.conv2dAsync(x, w, b, c.options) : api.conv2d(x, w, b, c.options);
  const dy = api.tensor(rnd(y.size, 4), y.shape, runtime);
  const g = useAsync ? await api.conv2dBackwardAsync(dy, x, w, c.options) : api.conv2dBackward(dy, x, w, c.options);
  const out = [y, g.dx!, g.dw!, g.db!].map((t) => new Uint32Array(t.toFloat32Array().buffer));
  for (const t of [x, w, b, y, dy, g.dx!, g.dw!, g.db!] as Tensor[]) t.dispose();
  return out;
}

const runtimes: Runtime[] = [];
afterAll(() => {
  for (const r of runtimes) r.terminate();
});

describe.each(["fixed", "relaxed"] as const)("the %s build", (simd) => {
  it("gives the same bits on 1, 2, 3 and 8 threads as the single-thread build, on every kernel path", async () => {
    const single = await api.createRuntime({ simd });
    const reference = await Promise.all(CASES.map((c) => results(single, c, false)));
    for (const threads of [1, 2, 3, 8]) {
      const runtime = await api.createRuntime({ simd, threads });
      runtimes.push(runtime);
      expect(runtime.threads).toBe(threads);
      // Async: the workers alone; synchronous: the calling thread beside threads − 1 workers.
      for (const useAsync of [true, false]) {
        for (let i = 0; i < CASES.length; i++) {
          const got = await results(runtime, CASES[i]!, useAsync);
          for (let k = 0; k < 4; k++) {
            expect(got[k]!.length).toBe(reference[i]![k]!.length);
            const firstDifference = got[k]!.findIndex((v, j) => v !== reference[i]![k]![j]);
            const where = `${CASES[i]!.name}, ${["out", "dx", "dw", "db"][k]}, ${threads} threads, ${useAsync ? "async" : "sync"}`;
            expect(firstDifference, where).toBe(-1);
          }
        }
      }
      runtime.terminate();
    }
  });
});

describe("the pool", () => {
  it("runs concurrent calls from several async tasks correctly (queued, each its own memory)", async () => {
    const runtime = await api.createRuntime({ simd: "fixed", threads: 2 });
    runtimes.push(runtime);
    const single = await api.createRuntime({ simd: "fixed" });
    const expected = await Promise.all(CASES.map((c) => results(single, c, false)));
    const got = await Promise.all(CASES.map((c) => results(runtime, c, true)));
    expect(got).toEqual(expected);
    expect(runtime.memoryUsage().bytesInUse).toBe(0);
  });

  it("runs a synchronous call on the calling thread and the workers together, beside an async call too", async () => {
    const runtime = await api.createRuntime({ simd: "fixed", threads: 2 });
    runtimes.push(runtime);
    const single = await api.createRuntime({ simd: "fixed" });
    // Count the tasks the calling thread takes (the pool is internal; the test reaches in on purpose).
    const pool = (runtime as unknown as { pool: { runHere(job: { tasks: number }, run: (t: number) => void): void } }).pool;
    const runHere = pool.runHere.bind(pool);
    let mine = 0, all = 0;
    pool.runHere = (job, run) => {
      all += job.tasks;
      runHere(job, (t) => {
        mine++;
        run(t);
      });
    };
    const expected = await results(single, CASES[0]!, false);
    for (let i = 0; i < 10; i++) expect(await results(runtime, CASES[0]!, false)).toEqual(expected);
    expect(mine).toBeGreaterThan(0);
    expect(mine).toBeLessThan(all); // the worker took some
    // While an async call's phase is in flight the workers are taken: a synchronous call runs alone.
    const pending = results(runtime, CASES[1]!, true);
    await new Promise((r) => setTimeout(r, 0));
    const before = all;
    expect(await results(runtime, CASES[0]!, false)).toEqual(expected);
    expect(await pending).toEqual(await results(single, CASES[1]!, false));
    expect(all).toBeGreaterThanOrEqual(before);
  });

  it("spreads db over the threads once it is large enough, through both APIs", async () => {
    const runtime = await api.createRuntime({ simd: "fixed", threads: 2 });
    runtimes.push(runtime);
    const pool = (runtime as unknown as {
      pool: { runHere(job: { direction: number }, run: (t: number) => void): void; run(job: { direction: number }): Promise<void> };
    }).pool;
    const directions: number[] = [];
    const runHere = pool.runHere.bind(pool), runPhase = pool.run.bind(pool);
    pool.runHere = (job, task) => (directions.push(job.direction), runHere(job, task));
    pool.run = (job) => (directions.push(job.direction), runPhase(job));
    const big = CASES.at(-1)!;
    const single = await api.createRuntime({ simd: "fixed" });
    const dbOnly = async (r: Runtime, useAsync: boolean) => {
      const dy = api.tensor(rnd(16 * 128 * 128, 4), [1, 16, 128, 128], r);
      const x = api.tensor(rnd(big.x.reduce((a, b) => a * b), 1), big.x, r);
      const w = api.tensor(rnd(big.w.reduce((a, b) => a * b), 2), big.w, r);
      const which = { dx: false, dw: false };
      const g = useAsync ? await api.conv2dBackwardAsync(dy, x, w, big.options, which) : api.conv2dBackward(dy, x, w, big.options, which);
      const bits = new Uint32Array(g.db!.toFloat32Array().buffer);
      for (const t of [dy, x, w, g.db!]) t.dispose();
      return bits;
    };
    const expected = await dbOnly(single, false);
    for (const useAsync of [false, true]) {
      directions.length = 0;
      expect(await dbOnly(runtime, useAsync)).toEqual(expected);
      expect(directions).toEqual([3]); // Direction.BIAS, on the pool
    }
  });

  it("throws ERR_WORKER from a synchronous call whose worker's task fails, and stays usable", async () => {
    const runtime = await api.createRuntime({ simd: "fixed", threads: 2 });
    runtimes.push(runtime);
    const pool = (runtime as unknown as { pool: { runHere(job: object, run: (t: number) => void): void } }).pool;
    // The calling thread's own task is slow, so the worker claims the others; there the prepared block
    // past the end of memory makes conv2dRun trap with an out-of-bounds access.
    const slowTask = () => {
      const until = performance.now() + 50;
      while (performance.now() < until) { /* the worker claims meanwhile */ }
    };
    const job = { direction: 0, phase: 0, prepared: 0xfffffff0, a: 0, b: 0, out: 0, accumulate: false, workBase: 0, workStride: 0, tasks: 4 };
    const error = (() => {
      try {
        pool.runHere(job, slowTask);
        return null;
      } catch (e) {
        return e;
      }
    })();
    expect((error as api.ConvError).code).toBe(api.ErrorCode.WORKER);
    expect((error as Error).message).toMatch(/out of bounds/i);
    const single = await api.createRuntime({ simd: "fixed" });
    expect(await results(runtime, CASES[1]!, false)).toEqual(await results(single, CASES[1]!, false));
  });

  it("keeps an input alive until the call using it ends, even if it is disposed meanwhile", async () => {
    const runtime = await api.createRuntime({ simd: "fixed", threads: 2 });
    runtimes.push(runtime);
    const c = CASES[0]!;
    const x = api.tensor(rnd(c.x.reduce((a, b) => a * b), 1), c.x, runtime);
    const w = api.tensor(rnd(c.w.reduce((a, b) => a * b), 2), c.w, runtime);
    const reference = api.conv2d(x, w, null, c.options);
    const expected = reference.toFloat32Array();
    reference.dispose();
    const pending = api.conv2dAsync(x, w, null, c.options);
    x.dispose();
    expect(x.disposed).toBe(true);
    const filler = api.zeros(c.x, runtime); // would reuse x's memory if it had been freed
    const y = await pending;
    expect(y.toFloat32Array()).toEqual(expected);
    for (const t of [w, y, filler]) t.dispose();
    expect(runtime.memoryUsage().bytesInUse).toBe(0);
  });

  it("rejects a call whose worker dies mid-call with ERR_WORKER, frees its outputs, and recovers", async () => {
    const runtime = await api.createRuntime({ simd: "fixed", threads: 2 });
    runtimes.push(runtime);
    const x = api.tensor(rnd(4 * 64 * 56 * 56, 1), [4, 64, 56, 56], runtime);
    const w = api.tensor(rnd(64 * 64 * 9, 2), [64, 64, 3, 3], runtime);
    const before = runtime.memoryUsage().bytesInUse;
    const pending = api.conv2dAsync(x, w, null, { pad: 1 });
    // Kill a worker while the phase runs (the pool is internal; the test reaches in on purpose).
    await new Promise((r) => setTimeout(r, 1));
    (runtime as unknown as { pool: { workers: { terminate(): void }[] } }).pool.workers[0]!.terminate();
    const error = await pending.then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(api.ConvError);
    expect((error as api.ConvError).code).toBe(api.ErrorCode.WORKER);
    expect((error as Error).message).toMatch(/died/);
    expect(runtime.memoryUsage().bytesInUse).toBe(before);
    const y = await api.conv2dAsync(x, w, null, { pad: 1 });
    expect(y.toFloat32Array()).toEqual(api.conv2d(x, w, null, { pad: 1 }).toFloat32Array());
  });

  it("rejects a phase whose task throws in a worker (a trapping kernel), and stays usable", async () => {
    const runtime = await api.createRuntime({ simd: "fixed", threads: 2 });
    runtimes.push(runtime);
    // A prepared block past the end of memory makes conv2dRun trap with an out-of-bounds access.
    const pool = (runtime as unknown as { pool: { run(job: object): Promise<void> } }).pool;
    const error = await pool.run({
      direction: 0, phase: 0, prepared: 0xfffffff0, a: 0, b: 0, out: 0, accumulate: false, workBase: 0, workStride: 0, tasks: 4,
    }).then(() => null, (e: unknown) => e);
    expect((error as api.ConvError).code).toBe(api.ErrorCode.WORKER);
    expect((error as Error).message).toMatch(/out of bounds/i);
    const single = await api.createRuntime({ simd: "fixed" });
    expect(await results(runtime, CASES[1]!, true)).toEqual(await results(single, CASES[1]!, false));
  });

  it("after terminate(), async calls run on the calling thread, still correctly", async () => {
    const runtime = await api.createRuntime({ simd: "fixed", threads: 2 });
    runtime.terminate();
    runtime.terminate();
    const single = await api.createRuntime({ simd: "fixed" });
    expect(await results(runtime, CASES[0]!, true)).toEqual(await results(single, CASES[0]!, false));
  });

  it("checks the threads option; auto takes every core here", async () => {
    const code = async (threads: unknown) => api.createRuntime({ threads } as never).then(() => "ok", (e: api.ConvError) => e.code);
    expect(await code(0)).toBe(api.ErrorCode.INVALID_OPTION);
    expect(await code(1.5)).toBe(api.ErrorCode.INVALID_OPTION);
    expect(await code("many")).toBe(api.ErrorCode.INVALID_OPTION);
    const auto = await api.createRuntime({ threads: "auto" });
    runtimes.push(auto);
    expect(auto.threads).toBe((await import("node:os")).availableParallelism());
    expect(auto.threadsNote).toBeUndefined();
    const one = await api.createRuntime();
    expect(one.threads).toBe(1);
  });

  it("lets a Node process whose work is done exit by itself (no terminate), and terminate() ends one at once", () => {
    const url = new URL("../../dist/index.js", import.meta.url).href;
    const script = (terminate: boolean) => `
      import { init, tensor, conv2dAsync } from ${JSON.stringify(url)};
      const runtime = await init({ threads: 2 });
      const y = await conv2dAsync(tensor(new Float32Array(8 * 64 * 64), [1, 8, 64, 64]), tensor(new Float32Array(16 * 72), [16, 8, 3, 3]), null, { pad: 1 });
      console.log(runtime.threads, y.shape.join("x"));
      ${terminate ? "runtime.terminate();" : ""}`;
    for (const terminate of [false, true]) {
      const started = Date.now();
      const out = execFileSync(process.execPath, ["--input-type=module", "-e", script(terminate)], { encoding: "utf8", timeout: 20_000 });
      expect(out.trim()).toBe("2 1x16x64x64");
      expect(Date.now() - started).toBeLessThan(15_000);
    }
  });
});

describe("Node's flags", () => {
  it("starts the pool in a process run with V8 flags (which Node refuses to pass to a worker)", () => {
    const url = new URL("../../dist/index.js", import.meta.url).href;
    const script = `
      import { init, tensor, conv2d } from ${JSON.stringify(url)};
      const runtime = await init({ threads: 2 });
      const y = conv2d(tensor(new Float32Array(8 * 64 * 64).fill(1), [1, 8, 64, 64]), tensor(new Float32Array(16 * 72).fill(1), [16, 8, 3, 3]), null, { pad: 1 });
      console.log(runtime.threads, y.toFloat32Array()[65]);
      runtime.terminate();`;
    const out = execFileSync(process.execPath, ["--no-liftoff", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 20_000 });
    expect(out.trim()).toBe("2 72"); // an inner pixel sees all 8 × 9 ones
  });
});

describe("the layer's async methods", () => {
  it("forwardAsync and backwardAsync equal forward and backward, gradients accumulating the same", async () => {
    const runtime = await api.createRuntime({ simd: "fixed", threads: 2 });
    runtimes.push(runtime);
    const make = () => new api.Conv2d({ inChannels: 16, outChannels: 24, kernelSize: 3, pad: 1, seed: 9, runtime });
    const a = make(), b = make();
    const x = api.tensor(rnd(2 * 16 * 24 * 24, 5), [2, 16, 24, 24], runtime);
    const ya = a.forward(x), yb = await b.forwardAsync(x);
    expect(yb.toFloat32Array()).toEqual(ya.toFloat32Array());
    const dy = api.tensor(rnd(ya.size, 6), ya.shape, runtime);
    for (let i = 0; i < 2; i++) {
      const da = a.backward(dy)!, db = (await b.backwardAsync(dy))!;
      expect(db.toFloat32Array()).toEqual(da.toFloat32Array());
    }
    expect(b.weightGrad.toFloat32Array()).toEqual(a.weightGrad.toFloat32Array());
    expect(b.biasGrad!.toFloat32Array()).toEqual(a.biasGrad!.toFloat32Array());
  });
});

describe("in Deno and Bun", () => {
  for (const [name, args] of [
    ["deno", ["run", "--no-lock", "--allow-read", "test/portable/threads-check.ts"]],
    ["bun", ["test/portable/threads-check.ts"]],
  ] as const) {
    it(`${name} runs a 2-thread pool whose results, async and synchronous, equal the single-thread build's bits`, async () => {
      const stdout = await run(binary(name), [...args], { DENO_NO_UPDATE_CHECK: "1" });
      const line = stdout.split("\n").find((l) => l.startsWith("THREADS_REPORT"));
      expect(line, stdout).toBeDefined();
      const report = JSON.parse(line!.slice("THREADS_REPORT".length)) as { threads: number; checks: { name: string; passed: boolean }[] };
      expect(report.threads).toBe(2);
      expect(report.checks.length).toBe(4);
      expect(report.checks.filter((c) => !c.passed)).toEqual([]);
    });
  }
});
