// Threads outside Node's vitest (Deno, Bun): a pool starts, its results equal the single-thread build's bit for bit, it ends.

// Run as `deno run --allow-read test/portable/threads-check.ts` or `bun test/portable/threads-check.ts`;
// prints one line starting with THREADS_REPORT and a JSON object.
import * as api from "../../dist/index.js";

const rnd = (n: number, seed: number): Float32Array => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(seed + i * 1.618);
  return a;
};

const single = await api.init({ simd: "fixed" });
const threaded = await api.init({ simd: "fixed", threads: 2 });
const shape = [2, 16, 24, 24];
const wShape = [24, 16, 3, 3];
const checks: { name: string; passed: boolean }[] = [];
for (const options of [{ pad: 1 }, { pad: 1, stride: 2 }]) {
  // The async API (two workers) and the synchronous one (this thread and a worker).
  for (const useAsync of [true, false]) {
    const results: Uint32Array[][] = [];
    for (const runtime of [single, threaded]) {
      const x = api.tensor(rnd(2 * 16 * 576, 1), shape, runtime);
      const w = api.tensor(rnd(24 * 144, 2), wShape, runtime);
      const y = useAsync ? await api.conv2dAsync(x, w, null, options) : api.conv2d(x, w, null, options);
      const dy = api.tensor(rnd(y.size, 3), y.shape, runtime);
      const g = useAsync ? await api.conv2dBackwardAsync(dy, x, w, options) : api.conv2dBackward(dy, x, w, options);
      results.push([y, g.dx!, g.dw!, g.db!].map((t) => new Uint32Array(t.toFloat32Array().buffer)));
    }
    const same = results[0]!.every((a, i) => a.length === results[1]![i]!.length && a.every((v, j) => v === results[1]![i]![j]));
    checks.push({ name: `stride ${options.stride ?? 1}, ${useAsync ? "async" : "sync"}: threads equal single-thread bits`, passed: same });
  }
}
threaded.terminate();
console.log("THREADS_REPORT" + JSON.stringify({ threads: threaded.threads, checks }));
