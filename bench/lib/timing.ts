// benchmark.js wrapped: the median time of a sync or async function, with the sample count, for every suite here.

import Benchmark from "benchmark";

// Closures carry each benchmark's state; benchmark.js must call them, not decompile and inline their source.
(Benchmark as unknown as { support: { decompilation: boolean } }).support.decompilation = false;

export interface Timing {
  /** Median milliseconds per call. */
  medianMs: number;
  samples: number;
  /** Relative margin of error of the mean, in percent (benchmark.js's rme). */
  rme: number;
}

export interface TimingOptions {
  /** Seconds benchmark.js may spend sampling (it stops earlier when the error is small). */
  maxTime: number;
  minSamples: number;
  /** Seconds each sample runs at least (benchmark.js's minTime; its default makes every sample 50 ms or more). */
  minTime?: number;
  /**
   * A call slower than this (ms, seen in the warm-up) is timed directly instead, slowSamples times:
   * benchmark.js would need whole seconds per sample of the naive and tfjs-cpu peers on large layers.
   */
  slowMs: number;
  slowSamples: number;
  /** A warm-up slower than this (ms) is itself the one sample: some peers take tens of seconds a call. */
  onceMs?: number;
}

/** Times fn (which may return a Promise) with benchmark.js; fn is warmed up once first. */
export async function measure(name: string, fn: () => unknown, options: TimingOptions): Promise<Timing> {
  const warmStart = performance.now();
  const first = fn();
  const isAsync = first instanceof Promise;
  if (isAsync) await first;
  const warmMs = performance.now() - warmStart;
  if (warmMs > (options.onceMs ?? Infinity)) return { medianMs: warmMs, samples: 1, rme: NaN };
  if (warmMs > options.slowMs) {
    const times: number[] = [];
    for (let i = 0; i < options.slowSamples; i++) {
      const start = performance.now();
      await fn();
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    return { medianMs: times[times.length >> 1]!, samples: times.length, rme: NaN };
  }
  return new Promise((resolve, reject) => {
    const test = isAsync
      ? { defer: true, fn: (deferred: { resolve(): void }) => { (fn() as Promise<unknown>).then(() => deferred.resolve(), reject); } }
      : { fn };
    const BenchmarkWithOptions = Benchmark as unknown as new (name: string, options: object) => Benchmark;
    const benchmark = new BenchmarkWithOptions(name, {
      ...test,
      maxTime: options.maxTime,
      minSamples: options.minSamples,
      ...(options.minTime !== undefined ? { minTime: options.minTime } : {}),
      initCount: 1,
      onError: (event: { target: { error: unknown } }) => reject(event.target.error),
      onComplete: () => {
        const sample = [...benchmark.stats.sample].sort((a, b) => a - b);
        const middle = sample.length >> 1;
        const median = sample.length % 2 ? sample[middle]! : (sample[middle - 1]! + sample[middle]!) / 2;
        resolve({ medianMs: median * 1000, samples: sample.length, rme: benchmark.stats.rme });
      },
    });
    benchmark.run({ async: isAsync });
  });
}
