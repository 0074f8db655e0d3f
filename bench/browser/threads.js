// The threads page's script: in test mode, bits of the pool against one thread; in bench mode, forward GFLOP/s against tfjs-wasm threaded.

import * as api from "/dist/index.js";

const params = new URLSearchParams(location.search);
const mode = params.get("mode") ?? "bench";
const threads = Number(params.get("threads") ?? navigator.hardwareConcurrency ?? 2);
const out = document.getElementById("out");

const rnd = (n, seed) => {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
};

async function test() {
  const single = await api.init({ simd: "fixed" });
  const pool = await api.init({ simd: "fixed", threads });
  const cases = [
    { x: [2, 16, 24, 24], w: [24, 16, 3, 3], o: { pad: 1 } },
    { x: [1, 12, 40, 40], w: [20, 12, 3, 3], o: { pad: 1, stride: 2 } },
    { x: [2, 32, 40, 40], w: [32, 1, 3, 3], o: { pad: 1, groups: 32 } },
  ];
  const checks = [];
  for (const c of cases) {
    // One thread; the pool through the async API (workers only); the pool through the synchronous API
    // (this page's thread, spinning for the worker's last task, and a worker).
    const bits = [];
    for (const [rt, useAsync] of [[single, false], [pool, true], [pool, false]]) {
      const x = api.tensor(rnd(c.x.reduce((a, b) => a * b), 1), c.x, rt);
      const w = api.tensor(rnd(c.w.reduce((a, b) => a * b), 2), c.w, rt);
      const y = useAsync ? await api.conv2dAsync(x, w, null, c.o) : api.conv2d(x, w, null, c.o);
      const dy = api.tensor(rnd(y.size, 3), y.shape, rt);
      const g = useAsync ? await api.conv2dBackwardAsync(dy, x, w, c.o) : api.conv2dBackward(dy, x, w, c.o);
      bits.push(JSON.stringify([y, g.dx, g.dw, g.db].map((t) => Array.from(new Uint32Array(t.toFloat32Array().buffer)))));
    }
    checks.push(bits[0] === bits[1], bits[0] === bits[2]);
  }
  return { crossOriginIsolated, threads: pool.threads, simd: pool.simd, checks };
}

/** Median ms of fn (awaited) over at least `minMs` after a warm-up. */
async function median(fn, minMs = 400) {
  for (let i = 0; i < 3; i++) await fn();
  const times = [];
  const start = performance.now();
  while (performance.now() - start < minMs || times.length < 7) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

async function bench() {
  const layers = [["L2", 1, 64, 56, 64, 3, 1, 1], ["L3", 1, 128, 28, 128, 3, 1, 1], ["L4", 1, 64, 56, 128, 3, 2, 1],
    ["L5", 1, 256, 14, 256, 1, 1, 0], ["L6", 1, 3, 224, 64, 7, 2, 3]];
  tf.wasm.setWasmPaths("/node_modules/@tensorflow/tfjs-backend-wasm/dist/");
  tf.wasm.setThreadsCount(threads);
  await tf.setBackend("wasm");
  const ours1 = await api.init();
  const oursN = await api.init({ threads });
  const rows = [];
  for (const [name, N, C, S, F, K, s, p] of layers) {
    const Ho = Math.floor((S + 2 * p - K) / s) + 1;
    const flops = 2 * N * F * Ho * Ho * C * K * K;
    const xData = rnd(N * C * S * S, 1), wData = rnd(F * C * K * K, 2), bData = rnd(F, 3);
    const gflops = (ms) => flops / ms / 1e6;
    const row = { layer: name };
    // oursN: the async API (workers only, the page's thread free); oursSync: the synchronous API on the
    // same runtime (the page's thread and threads − 1 workers).
    for (const [label, rt, useAsync] of [["ours1", ours1, false], ["oursN", oursN, true], ["oursSync", oursN, false]]) {
      const x = api.tensor(xData, [N, C, S, S], rt), w = api.tensor(wData, [F, C, K, K], rt), b = api.tensor(bData, [F], rt);
      row[label] = gflops(await median(useAsync
        ? async () => (await api.conv2dAsync(x, w, b, { stride: s, pad: p })).dispose()
        : async () => api.conv2d(x, w, b, { stride: s, pad: p }).dispose()));
      for (const t of [x, w, b]) t.dispose();
    }
    // tfjs: NHWC input, HWIO filter, transposed outside the timed region; fused bias like ours.
    const x = tf.tidy(() => tf.transpose(tf.tensor4d(xData, [N, C, S, S]), [0, 2, 3, 1]));
    const w = tf.tidy(() => tf.transpose(tf.tensor4d(wData, [F, C, K, K]), [2, 3, 1, 0]));
    const b = tf.tensor1d(bData);
    const pad = [[0, 0], [p, p], [p, p], [0, 0]];
    row.tfjs = gflops(await median(async () => {
      tf.fused.conv2d({ x, filter: w, bias: b, strides: s, pad, dataFormat: "NHWC" }).dispose();
    }));
    for (const t of [x, w, b]) t.dispose();
    rows.push(row);
    out.textContent = JSON.stringify(rows, null, 1);
  }
  oursN.terminate();
  return {
    crossOriginIsolated, threads, simd: oursN.simd, tfjsThreads: tf.wasm.getThreadsCount(),
    userAgent: navigator.userAgent, rows,
  };
}

try {
  window.result = mode === "test" ? await test() : await bench();
  out.textContent = JSON.stringify(window.result, null, 1);
} catch (error) {
  window.result = { error: String(error?.message ?? error) };
  out.textContent = window.result.error;
}
