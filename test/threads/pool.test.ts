// Threads: the async and synchronous APIs on 1, 2, 3 and 8 threads (and on the shuffle-broadcast micro-kernel) give the single-thread build's bits, within rounding of the float64 reference; faults reject, never hang; processes exit.

import { describe, it, expect, afterAll } from "vitest";
import { execFileSync } from "node:child_process";
import * as api from "../../dist/index.js";
import type { Runtime, Tensor, Conv2dOptions } from "../../dist/index.js";
import { FINISHED, UNCLAIMED } from "../../dist/threads/control.js";
import { binary, run } from "../runtimes/harness.ts";
import { referenceConv2d } from "../reference/conv2d.ts";
import { outsideBounds, referenceBounds, referenceConfig, type ReferenceBounds } from "./against-reference.ts";
import { useBroadcast } from "../helpers/broadcast.ts";

const rnd = (n: number, seed: number): Float32Array => {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
};

/**
 * Where two results' bits first differ, or null. A plain loop: toEqual walks a typed array element by
 * element through its generic equality, seconds for the 800,000 outputs of the larger layers here.
 */
function differentBits(actual: Float32Array | Uint32Array, expected: Float32Array | Uint32Array): string | null {
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  if (a.length !== e.length) return `length ${a.length} ≠ ${e.length}`;
  const i = a.findIndex((v, j) => v !== e[j]);
  return i < 0 ? null : `index ${i}: bits ${a[i]!.toString(16)} ≠ ${e[i]!.toString(16)}`;
}

/** The four results of a case (results()) with the same bits as expected. */
function expectSameBits(got: Uint32Array[], expected: Uint32Array[], where: string): void {
  expect(got.length).toBe(expected.length);
  got.forEach((bits, k) => expect(differentBits(bits, expected[k]!), `${where}, ${["out", "dx", "dw", "db"][k]}`).toBeNull());
}

/** The GEMM forward's tasks (bands of rows × runs of 64 filters), which the tests of the pool's waits count on; auto would take Winograd. */
const GEMM: Conv2dOptions = { algorithm: "gemm" };

/** Configurations big enough to go to the workers (each direction over 2 MFLOP), one per kernel path. */
const CASES: { name: string; x: number[]; w: number[]; options: Conv2dOptions }[] = [
  { name: "3×3 pad 1 (forward GEMM, dx by the full correlation)", x: [2, 16, 24, 24], w: [24, 16, 3, 3], options: { pad: 1, algorithm: "gemm" } },
  { name: "3×3 pad 1, 16 channels (auto: Winograd forward and dx)", x: [2, 16, 24, 24], w: [24, 16, 3, 3], options: { pad: 1 } },
  { name: "dilation 2, 16 channels (auto: Winograd over the input's phases, forward and dx)", x: [2, 16, 19, 18], w: [16, 16, 3, 3], options: { pad: 2, dilation: 2 } },
  { name: "Winograd forced, odd sizes, uneven pads (tiles at every edge, tasks ending mid-image)", x: [3, 5, 23, 19], w: [7, 5, 3, 3], options: { pad: { top: 2, bottom: 0, left: 1, right: 2 }, algorithm: "winograd" } },
  { name: "stride 2 (dx scatter in bands, two phases)", x: [1, 12, 40, 40], w: [20, 12, 3, 3], options: { pad: 1, stride: 2 } },
  { name: "stride 2 over 5 images (dx scatter in three waves of two phases, the last wave one image)", x: [5, 8, 50, 50], w: [12, 8, 3, 3], options: { pad: 1, stride: 2 } },
  { name: "groups 2, dilation 2, asymmetric pad", x: [2, 8, 30, 26], w: [16, 4, 3, 3], options: { pad: { top: 2, bottom: 1, left: 2, right: 2 }, dilation: 2, groups: 2 } },
  { name: "depthwise", x: [2, 32, 40, 40], w: [32, 1, 3, 3], options: { pad: 1, groups: 32 } },
  { name: "1×1 with 1,500 pixels (dw over two chunks)", x: [1, 32, 30, 50], w: [40, 32, 1, 1], options: {} },
  { name: "1×1 on 128×128 (a db of 262,144 adds: on the threads too)", x: [1, 8, 128, 128], w: [16, 8, 1, 1], options: {} },
  // dw reduces over 1,024-pixel chunks; a plane that is no multiple of 1,024 leaves a short last chunk,
  // and a task that read a chunk at the wrong offset gets values the float64 reference rejects.
  { name: "1×1 over 37×61 = 2,257 pixels (pointwise dw over three chunks, the last short)", x: [1, 32, 37, 61], w: [40, 32, 1, 1], options: {} },
  { name: "1×1 over 37×61, a batch of 3 (pointwise dw's chunks in every image)", x: [3, 16, 37, 61], w: [24, 16, 1, 1], options: {} },
  { name: "groups 2, 3×3 over 45×53 = 2,385 pixels (gathered dw over three chunks)", x: [2, 8, 45, 53], w: [16, 4, 3, 3], options: { pad: 1, groups: 2 } },
  // The direct sliding windows: LeNet's two layers at a batch of 8 (bands of rows per image; the second's
  // dx is the direct forward over dy too), and grouped with every other row (forward only; dx scatters).
  { name: "LeNet's first layer, N 8 (forward and dw direct, rows of 28)", x: [8, 1, 28, 28], w: [8, 1, 5, 5], options: { pad: 2 } },
  { name: "LeNet's second layer, N 8 (forward and dx direct, rows of 14)", x: [8, 8, 14, 14], w: [16, 8, 5, 5], options: { pad: 2 } },
  { name: "groups 2, 10 filters, stride 2 down (forward direct, a part-filled panel)", x: [8, 8, 40, 21], w: [10, 4, 3, 3], options: { pad: 1, stride: [2, 1], groups: 2 } },
];

/** Each case's inputs (dy's shape is out's, from the reference's geometry). */
function caseData(c: (typeof CASES)[number]) {
  const cfg = referenceConfig(c.x, c.w, c.options);
  const ho = Math.floor((cfg.H + cfg.padTop + cfg.padBottom - cfg.dilationH * (cfg.KH - 1) - 1) / cfg.strideH) + 1;
  const wo = Math.floor((cfg.W + cfg.padLeft + cfg.padRight - cfg.dilationW * (cfg.KW - 1) - 1) / cfg.strideW) + 1;
  const size = (shape: number[]) => shape.reduce((a, b) => a * b);
  return {
    cfg,
    x: rnd(size(c.x), 1), w: rnd(size(c.w), 2), b: rnd(c.w[0]!, 3), dy: rnd(c.x[0]! * c.w[0]! * ho * wo, 4),
  };
}

/** The float64 reference of each case, computed once. */
const referenceCache = new Map<string, ReferenceBounds>();
function referenceOf(c: (typeof CASES)[number]): ReferenceBounds {
  let r = referenceCache.get(c.name);
  if (!r) {
    const d = caseData(c);
    r = referenceBounds(d.cfg, d.x, d.w, d.b, d.dy);
    referenceCache.set(c.name, r);
  }
  return r;
}

/** The four results as raw bits. */
async function results(runtime: Runtime, c: (typeof CASES)[number], useAsync: boolean): Promise<Uint32Array[]> {
  const d = caseData(c);
  const x = api.tensor(d.x, c.x, runtime);
  const w = api.tensor(d.w, c.w, runtime);
  const b = api.tensor(d.b, [c.w[0]!], runtime);
  const y = useAsync ? await api.conv2dAsync(x, w, b, c.options) : api.conv2d(x, w, b, c.options);
  expect(y.size).toBe(d.dy.length);
  const dy = api.tensor(d.dy, y.shape, runtime);
  const g = useAsync ? await api.conv2dBackwardAsync(dy, x, w, c.options) : api.conv2dBackward(dy, x, w, c.options);
  const out = [y, g.dx!, g.dw!, g.db!].map((t) => new Uint32Array(t.toFloat32Array().buffer));
  for (const t of [x, w, b, y, dy, g.dx!, g.dw!, g.db!] as Tensor[]) t.dispose();
  return out;
}

const runtimes: Runtime[] = [];
afterAll(() => {
  for (const r of runtimes) r.terminate();
});

/**
 * Every case on a runtime, through both APIs (async: the workers alone; synchronous: the calling
 * thread beside threads − 1 workers): the reference's bits, and within rounding of the float64 reference.
 */
async function expectReferenceBits(runtime: Runtime, reference: Uint32Array[][], label: string): Promise<void> {
  for (const useAsync of [true, false]) {
    for (let i = 0; i < CASES.length; i++) {
      const got = await results(runtime, CASES[i]!, useAsync);
      // Equal bits alone would pass a kernel wrong on every thread count alike (the single-thread
      // build runs the same tasks), so each result is also held to the float64 reference.
      const exact = referenceOf(CASES[i]!);
      for (let k = 0; k < 4; k++) {
        expect(got[k]!.length).toBe(reference[i]![k]!.length);
        const firstDifference = got[k]!.findIndex((v, j) => v !== reference[i]![k]![j]);
        const where = `${CASES[i]!.name}, ${["out", "dx", "dw", "db"][k]}, ${label}, ${useAsync ? "async" : "sync"}`;
        expect(firstDifference, where).toBe(-1);
        expect(outsideBounds(new Float32Array(got[k]!.buffer, got[k]!.byteOffset, got[k]!.length), exact.values[k]!, exact.bounds[k]!), where).toBeNull();
      }
    }
  }
}

describe.each(["fixed", "relaxed"] as const)("the %s build", (simd) => {
  it("gives the same bits on 1, 2, 3 and 8 threads as the single-thread build, on every kernel path, within rounding of the float64 reference", async () => {
    const single = useBroadcast(await api.createRuntime({ simd }), "load");
    const reference = await Promise.all(CASES.map((c) => results(single, c, false)));
    for (const threads of [1, 2, 3, 8]) {
      const runtime = useBroadcast(await api.createRuntime({ simd, threads }), "load");
      runtimes.push(runtime);
      expect(runtime.threads).toBe(threads);
      await expectReferenceBits(runtime, reference, `${threads} threads`);
      runtime.terminate();
    }
  });

  it("gives the load form's bits on the shuffle-broadcast micro-kernel, on 1 and 3 threads, on every kernel path", async () => {
    // The form is the calling thread's setting, copied into each call's block: the workers' own
    // instances, never told, must run it too. (The load form on 3 threads would pass a kernel that
    // ignored the form; the mutants of the shuffle form in tools/mutate.mjs are caught here and in
    // the property test.)
    const single = useBroadcast(await api.createRuntime({ simd }), "load");
    const reference = await Promise.all(CASES.map((c) => results(single, c, false)));
    for (const threads of [1, 3]) {
      const runtime = useBroadcast(await api.createRuntime({ simd, threads }), "shuffle");
      runtimes.push(runtime);
      await expectReferenceBits(runtime, reference, `${threads} threads, shuffle form`);
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
    CASES.forEach((c, i) => expectSameBits(got[i]!, expected[i]!, c.name));
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
    for (let i = 0; i < 10; i++) expectSameBits(await results(runtime, CASES[0]!, false), expected, CASES[0]!.name);
    expect(mine).toBeGreaterThan(0);
    expect(mine).toBeLessThan(all); // the worker took some
    // While an async call's phase is in flight the workers are taken: a synchronous call runs alone,
    // on this thread, and still gets the single-thread bits. The async forward (0.9 GFLOP, tens of ms
    // on the workers) has published its phase once the pending microtasks have run; the pool clears
    // that only on this thread, between awaits, so the synchronous call below (no await inside) sees
    // the phase in flight from its start to its end.
    const bigX = api.tensor(rnd(4 * 64 * 56 * 56, 5), [4, 64, 56, 56], runtime);
    const bigW = api.tensor(rnd(64 * 64 * 9, 6), [64, 64, 3, 3], runtime);
    const bigExpected = api.conv2d(
      api.tensor(bigX.toFloat32Array(), bigX.shape, single), api.tensor(bigW.toFloat32Array(), bigW.shape, single), null, { pad: 1 },
    ).toFloat32Array();
    const pending = api.conv2dAsync(bigX, bigW, null, { pad: 1 });
    await new Promise((r) => setImmediate(r));
    expect((pool as unknown as { canRunHere: boolean }).canRunHere).toBe(false);
    const before = all;
    const alone = results(runtime, CASES[0]!, false); // runs to its end before it returns
    expect(all, "runHere was called while an async phase was in flight").toBe(before);
    expect((pool as unknown as { canRunHere: boolean }).canRunHere).toBe(false);
    expectSameBits(await alone, expected, CASES[0]!.name);
    expect(differentBits((await pending).toFloat32Array(), bigExpected)).toBeNull();
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
    const big = CASES.find((c) => c.name.startsWith("1×1 on 128×128"))!;
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
      expect(directions).toEqual([3]); // Direction.DB, on the pool
    }
  });

  it("runs db phases of 1, 2 and 3 tasks (F = 4, 8, 12) on the pool, through both APIs, to the exact float64 sums", async () => {
    const runtime = await api.createRuntime({ simd: "fixed", threads: 2 });
    runtimes.push(runtime);
    type Job = { direction: number; tasks: number; out: number };
    const pool = (runtime as unknown as {
      pool: { runHere(job: Job, run: (t: number) => void, where: string): void; run(job: Job, where: string): Promise<void> };
    }).pool;
    const memory = (runtime as unknown as { kernels: { memory: WebAssembly.Memory } }).kernels.memory;
    // db's output is filled with NaN before each phase and read the moment the phase is declared over,
    // so a phase that ends before its last task may show NaN still there; whether it does depends on
    // how soon this thread looks (a db task is 0.1 ms), and the next test makes sure with long tasks.
    let F = 0;
    const seen: { via: string; direction: number; tasks: number; unfinished: number }[] = [];
    const dbView = (job: Job) => new Float32Array(memory.buffer, job.out, F);
    const unfinished = (job: Job) => dbView(job).filter(Number.isNaN).length;
    const runHere = pool.runHere.bind(pool), runPhase = pool.run.bind(pool);
    pool.runHere = (job, task, where) => {
      dbView(job).fill(NaN);
      runHere(job, task, where);
      seen.push({ via: "runHere", direction: job.direction, tasks: job.tasks, unfinished: unfinished(job) });
    };
    pool.run = (job, where) => {
      dbView(job).fill(NaN);
      return runPhase(job, where).then(() => {
        seen.push({ via: "run", direction: job.direction, tasks: job.tasks, unfinished: unfinished(job) });
      });
    };
    // dy in multiples of 1/16 within [-1, 1]: every partial sum of up to 8·128·128 = 2¹⁷ of them is a
    // multiple of 2⁻⁴ of magnitude at most 2¹⁷, 21 significant bits, so float32 adds them exactly in any order and db
    // must equal the float64 sum bit for bit: tolerance 0, and zeros or a missing task cannot pass.
    const sixteenths = (n: number, seed: number) => rnd(n, seed).map((v) => Math.round(v * 16) / 16);
    const [N, H, W] = [8, 128, 128];
    for (F of [4, 8, 12]) {
      expect(N * F * H * W).toBeGreaterThanOrEqual(200_000); // enough for the pool (schedule.ts)
      const dyData = sixteenths(N * F * H * W, F);
      const cfg = referenceConfig([N, 1, H, W], [F, 1, 1, 1], {});
      const expected = referenceConv2d(cfg, new Float32Array(N * H * W), new Float32Array(F), null, dyData).db;
      for (const useAsync of [true, false]) {
        seen.length = 0;
        const dy = api.tensor(dyData, [N, F, H, W], runtime);
        const x = api.zeros([N, 1, H, W], runtime), w = api.zeros([F, 1, 1, 1], runtime);
        const which = { dx: false, dw: false };
        const g = useAsync ? await api.conv2dBackwardAsync(dy, x, w, {}, which) : api.conv2dBackward(dy, x, w, {}, which);
        const where = `F = ${F}, ${useAsync ? "async" : "sync"}`;
        expect(Array.from(g.db!.toFloat32Array()), where).toEqual(Array.from(expected));
        // Direction.DB, on the pool, as one phase of F / 4 tasks (db tasks are runs of 4 filters).
        expect(seen, where).toEqual([{ via: useAsync ? "run" : "runHere", direction: 3, tasks: F / 4, unfinished: 0 }]);
        for (const t of [dy, x, w, g.db!]) t.dispose();
      }
    }
  });

  it("resolves an async phase only once its last task is done (phases of 1, 2 and 3 long forward tasks)", async () => {
    const runtime = await api.createRuntime({ simd: "fixed", threads: 2 });
    runtimes.push(runtime);
    type Job = { tasks: number; out: number };
    const pool = (runtime as unknown as { pool: { run(job: Job, where: string): Promise<void> } }).pool;
    const memory = (runtime as unknown as { kernels: { memory: WebAssembly.Memory } }).kernels.memory;
    // One output row (Ho = 1) of 4,096 pixels, 64 filters (one run): exactly one forward task per
    // image, each 0.6 GFLOP, tens of milliseconds. The output is NaN until a task writes it; read the
    // moment the phase resolves, any NaN left is a task still running. A wait that counts one task
    // short does not wait at all for a phase of one task, which then fails whatever the timing; with
    // more, the last task's notify is what wakes this thread, so 2 and 3 tasks check the count alone.
    const [C, F, Wo] = [128, 64, 4096];
    let outputs = 0;
    const seen: { tasks: number; unfinished: number }[] = [];
    const runPhase = pool.run.bind(pool);
    pool.run = (job, where) => {
      const out = () => new Float32Array(memory.buffer, job.out, outputs);
      out().fill(NaN);
      return runPhase(job, where).then(() => {
        seen.push({ tasks: job.tasks, unfinished: out().filter(Number.isNaN).length });
      });
    };
    const single = await api.createRuntime({ simd: "fixed" });
    const wData = rnd(F * C * 9, 9);
    for (const N of [1, 2, 3]) {
      const xShape = [N, C, 3, Wo + 2], wShape = [F, C, 3, 3];
      const xData = rnd(N * C * 3 * (Wo + 2), 10 + N);
      outputs = N * F * Wo;
      seen.length = 0;
      const y = await api.conv2dAsync(api.tensor(xData, xShape, runtime), api.tensor(wData, wShape, runtime), null, GEMM);
      expect(seen, `${N} tasks`).toEqual([{ tasks: N, unfinished: 0 }]);
      const expected = api.conv2d(api.tensor(xData, xShape, single), api.tensor(wData, wShape, single), null, GEMM);
      expect(differentBits(y.toFloat32Array(), expected.toFloat32Array()), `${N} tasks`).toBeNull();
    }
  });

  it("returns from a synchronous call only once the worker's last task is done (its task slow, the calling thread's instant)", async () => {
    const runtime = await api.createRuntime({ simd: "fixed", threads: 2 });
    runtimes.push(runtime);
    type Job = { tasks: number; out: number };
    const pool = (runtime as unknown as {
      pool: { runHere(job: Job, run: (t: number) => void, where: string): void; control: Int32Array };
    }).pool;
    const memory = (runtime as unknown as { kernels: { memory: WebAssembly.Memory } }).kernels.memory;
    const control = pool.control;
    // One output row (Ho = 1) of 2,048 pixels and 128 filters: exactly two forward tasks, one per run of
    // 64 filters, each 0.3 GFLOP (milliseconds). Task t writes filters [64t, 64t + 64) of the row.
    const [C, F, Wo] = [128, 128, 2048];
    const xShape = [1, C, 3, Wo + 2], wShape = [F, C, 3, 3];
    const xData = rnd(C * 3 * (Wo + 2), 7), wData = rnd(F * C * 9, 8);
    const single = await api.createRuntime({ simd: "fixed" });
    const expected = api.conv2d(api.tensor(xData, xShape, single), api.tensor(wData, wShape, single), null, GEMM).toFloat32Array();
    const runHere = pool.runHere.bind(pool);
    let report: { tasks: number; mine: number; leftInTheirs: number } | null = null;
    pool.runHere = (job, run, where) => {
      const out = () => new Float32Array(memory.buffer, job.out, F * Wo);
      out().fill(NaN);
      let mine = -1;
      // The calling thread's task waits until the worker holds the other, then returns undone, so the
      // phase's end hangs on the worker's task alone: a wait that stops a task short returns at once,
      // milliseconds before the worker's region is written.
      runHere(job, (t) => {
        mine = t;
        const deadline = performance.now() + 10_000;
        while (Atomics.load(control, UNCLAIMED) > 0) {
          if (performance.now() > deadline) throw new Error("the worker never claimed the other task");
        }
      }, where);
      const theirs = out().subarray((1 - mine) * 64 * Wo, (2 - mine) * 64 * Wo);
      report = { tasks: job.tasks, mine, leftInTheirs: theirs.filter(Number.isNaN).length };
      // Whatever the verdict, let the worker end before anything reuses the control block, then do the
      // calling thread's task for real so the call's result is whole.
      while (Atomics.load(control, FINISHED) < job.tasks) { /* spin */ }
      if (mine >= 0) run(mine);
    };
    const y = api.conv2d(api.tensor(xData, xShape, runtime), api.tensor(wData, wShape, runtime), null, GEMM);
    expect(report).not.toBeNull();
    expect(report!.tasks).toBe(2);
    expect([0, 1]).toContain(report!.mine);
    expect(report!.leftInTheirs, "runHere returned before the worker's task had written its outputs").toBe(0);
    expect(differentBits(y.toFloat32Array(), expected)).toBeNull();
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
    expect(differentBits(y.toFloat32Array(), api.conv2d(x, w, null, { pad: 1 }).toFloat32Array())).toBeNull();
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
