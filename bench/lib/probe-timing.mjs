// The cross-runtime reproduction's timing, plain JavaScript for every runtime: ceiling and both micro-kernel forms, interleaved, best of many samples.

// K = 256 taps, 4 A panels (16 KiB) and one B panel (8 KiB): 24 KiB, inside a 32 KiB L1 data cache.
const K = 256, PANELS = 4;
const A = 1024, B = A + PANELS * K * 16, C = B + K * 32;
/** The ceiling probe's buffer, after the tile: 0.5s, as bench/wasm/ceiling.ts expects. */
const RING = C + 1024;
/** Calls of one kernel in a row: a run that sleeps between calls is preempted more often on a busy machine. */
const RUN = 10;

/**
 * GFLOP/s of the ceiling (bench/wasm/ceiling.ts) and of the 4×8 micro-kernel in its load-broadcast
 * form (the one the kernels use) and its shuffle-broadcast form (bench/wasm/runtime-probe.ts), in one
 * instance. Each call is sized to last about minSampleMs (workerd's clock ticks in whole
 * milliseconds, so it needs longer ones); the three take turns, RUN calls at a time, until each has
 * `samples`, with a turn of the event loop between runs, and the best (shortest) sample of each is
 * kept: on a shared machine the best is the one nobody else interrupted, and the turns let an engine
 * that compiles its optimised tier in the background install it. Both forms must write the same bits.
 */
export async function probe(module, { samples = 300, minSampleMs = 1 } = {}) {
  const instance = await WebAssembly.instantiate(module, { env: { abort() { throw new Error("abort() in the probe"); } } });
  const e = instance.exports;
  const values = new Float32Array(e.memory.buffer, A, (B - A + K * 32) / 4);
  let s = 1;
  for (let i = 0; i < values.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    values[i] = s / 2147483648 - 1;
  }
  new Float32Array(e.memory.buffer, RING, e.PROBE_BUFFER_BYTES.value / 4).fill(0.5);
  const tile = () => Array.from(new Float32Array(e.memory.buffer, C, 32));
  e.microKernelLoop(K, PANELS, 1, A, B, C);
  const loaded = tile();
  e.microKernelShuffleLoop(K, PANELS, 1, A, B, C);
  const sameBits = tile().every((v, i) => Object.is(v, loaded[i]));

  const kernels = {
    // 8 chains, each fed by a load from a moving pointer (bench/wasm/ceiling.ts): the probe a kernel's loop resembles.
    ceiling: (n) => { e.probeLoads8(n * 4096, RING); return e.probeFlops(n * 4096, 8); },
    "micro-kernel (load broadcast)": (n) => e.microKernelLoop(K, PANELS, n, A, B, C),
    "micro-kernel (shuffle broadcast)": (n) => e.microKernelShuffleLoop(K, PANELS, n, A, B, C),
  };
  const names = Object.keys(kernels);
  const reps = {}, best = {};
  for (const name of names) {
    let n = 1;
    for (;;) {
      const t = performance.now();
      kernels[name](n);
      if (performance.now() - t >= minSampleMs || n >= 1 << 20) break;
      n *= 2;
    }
    reps[name] = n;
    best[name] = Infinity;
  }
  const flops = {};
  for (let done = 0; done < samples; done += RUN) {
    for (const name of names) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      for (let i = 0; i < RUN; i++) {
        const t = performance.now();
        flops[name] = kernels[name](reps[name]);
        const ms = performance.now() - t;
        if (ms > 0) best[name] = Math.min(best[name], ms);
      }
    }
  }
  const gflops = Object.fromEntries(names.map((name) => [name, flops[name] / best[name] / 1e6]));
  return { gflops, sameBits, samples, minSampleMs };
}
