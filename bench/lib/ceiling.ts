// The wasm SIMD ceiling, measured in the same run: the best of bench/wasm/ceiling.ts's probes (8, 10, 12 chains; loads or registers), fixed and relaxed builds.

// No node: imports: Deno, Bun, Chromium and workerd run this too (bench/lib/portable-timing.ts). The
// caller hands over each build's module (bytes or a compiled WebAssembly.Module) and a timer.

export const PROBE_CHAINS = [8, 10, 12] as const;
export const PROBE_OPERANDS = ["loads", "registers"] as const;

export interface CeilingProbe {
  build: "fixed" | "relaxed";
  chains: (typeof PROBE_CHAINS)[number];
  /** loads: a v128.load feeds each multiply-add, as in a kernel; registers: every operand in registers. */
  operands: (typeof PROBE_OPERANDS)[number];
  gflops: number;
}

export interface Ceiling {
  /** The best fixed-build probe (f32x4.mul + f32x4.add), GFLOP/s: every share of ceiling in bench/ is against it. */
  fixed: number;
  /** The best relaxed-build probe (f32x4.relaxed_madd), GFLOP/s; null where the engine has no relaxed SIMD. */
  relaxed: number | null;
  /** Every probe, so a reader sees which chain count and operand source won and by how much. */
  probes: CeilingProbe[];
}

/** Each build's ceiling module: bytes to compile, or a module compiled already (workerd imports it so). */
export interface CeilingModules {
  fixed: BufferSource | WebAssembly.Module;
  relaxed?: BufferSource | WebAssembly.Module;
}

/** Median milliseconds per call of fn (bench/lib/timing.ts in Node, portable-timing's measure elsewhere). */
export type Timer = (name: string, fn: () => unknown) => Promise<number> | number;

/** 2^21 steps: 200 MFLOP at 12 chains, a few ms a call — long enough that the call overhead vanishes. */
const STEPS = 1 << 21;

interface ProbeExports {
  memory: WebAssembly.Memory;
  PROBE_BUFFER_BYTES: WebAssembly.Global;
  probeFlops(steps: number, chains: number): number;
  [probe: string]: unknown;
}

/** Times every probe of both builds; a relaxed module the engine cannot compile gives relaxed: null. */
export async function measureCeiling(modules: CeilingModules, time: Timer): Promise<Ceiling> {
  const probes: CeilingProbe[] = [];
  probes.push(...(await probesOf("fixed", modules.fixed, time)));
  if (modules.relaxed) {
    try {
      probes.push(...(await probesOf("relaxed", modules.relaxed, time)));
    } catch (error) {
      if (!(error instanceof WebAssembly.CompileError)) throw error; // no relaxed SIMD here: anything else is a bug
    }
  }
  const best = (build: CeilingProbe["build"]) => {
    const of = probes.filter((p) => p.build === build);
    return of.length ? Math.max(...of.map((p) => p.gflops)) : null;
  };
  return { fixed: best("fixed")!, relaxed: best("relaxed"), probes };
}

async function probesOf(build: CeilingProbe["build"], source: BufferSource | WebAssembly.Module, time: Timer): Promise<CeilingProbe[]> {
  const module = source instanceof WebAssembly.Module ? source : await WebAssembly.compile(source);
  const instance = await WebAssembly.instantiate(module, { env: { abort() {} } });
  const exports = instance.exports as unknown as ProbeExports;
  const buffer = 1024;
  new Float32Array(exports.memory.buffer, buffer, (exports.PROBE_BUFFER_BYTES.value as number) / 4).fill(0.5);
  const probes: CeilingProbe[] = [];
  for (const operands of PROBE_OPERANDS) {
    for (const chains of PROBE_CHAINS) {
      const name = `probe${operands === "loads" ? "Loads" : "Registers"}${chains}`;
      const probe = exports[name] as (steps: number, buffer: number) => number;
      const ms = await time(`ceiling ${build} ${name}`, () => probe(STEPS, buffer));
      probes.push({ build, chains, operands, gflops: exports.probeFlops(STEPS, chains) / ms / 1e6 });
    }
  }
  return probes;
}

/** "8 loads 44.1, 10 loads 44.3, …": one build's probes on one line. */
export function probesText(ceiling: Ceiling, build: CeilingProbe["build"]): string {
  return ceiling.probes.filter((p) => p.build === build).map((p) => `${p.chains} ${p.operands} ${p.gflops.toFixed(1)}`).join(", ");
}
