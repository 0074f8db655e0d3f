// Renders a bench/results/<date>.json as the Markdown tables of bench/RESULTS.md: `tsx bench/results-markdown.ts <file>`.

import { readFile } from "node:fs/promises";

interface Cell { medianMs?: number; gflops?: number; unsupported?: string; samples?: number }
interface Results {
  date: string; command: string;
  machine: { cpu: string; cores: number; memoryGiB: number; node: string; v8: string };
  /** The best probe of each build; runs before the probes were recorded have one probe and no list. */
  ceiling: { fixed: number; relaxed: number | null; probes?: { build: string; chains: number; operands: string; gflops: number }[] };
  implementations: { name: string; version: string }[];
  layers: { name: string; N: number; C: number; size: number; F: number; K: number; stride: number; pad: number;
    dilation: number; groups: number; results: Record<string, Record<string, Cell>>;
    memory?: { wasmMemoryBytes: number; scratchBytes: number } }[];
}

const file = process.argv[2];
if (!file) throw new Error("usage: tsx bench/results-markdown.ts bench/results/<date>.json");
const r = JSON.parse(await readFile(file, "utf8")) as Results;
const names = r.implementations.map((i) => i.name);
const [relaxed, fixed, ...rest] = names;
const threaded = rest.filter((n) => n.includes("threads"));
const peers = rest.filter((n) => !threaded.includes(n));
const f = (v: number | undefined, digits = 1) => (v === undefined ? "–" : v.toFixed(digits));

console.log(`Run: ${r.date}, \`${r.command}\`; ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGiB} GiB, Node ${r.machine.node} (V8 ${r.machine.v8}).`);
console.log(`Wasm SIMD ceiling in the same run (the best probe; every share of ceiling below is of it): ${f(r.ceiling.fixed)} GFLOP/s (f32x4 mul + add), ${f(r.ceiling.relaxed ?? undefined)} GFLOP/s (relaxed madd).`);
if (r.ceiling.probes) {
  const probes = (build: string) => r.ceiling.probes!.filter((p) => p.build === build).map((p) => `${p.chains} ${p.operands} ${f(p.gflops)}`).join(", ") || "n/a";
  console.log(`Probes (independent chains, operands: GFLOP/s): mul + add ${probes("fixed")}; relaxed madd ${probes("relaxed")}.`);
}
console.log("");
for (const direction of ["forward", "dx", "dw", "db", "step"]) {
  const work = direction === "db" ? "GFLOP/s of the adds" : direction === "step" ? "GFLOP/s, 3 convolutions' FLOPs" : "GFLOP/s";
  console.log(`#### ${direction} (${work}; in brackets: our relaxed build's speed ÷ the peer's${threaded.length ? "; threads: speed-up over one thread" : ""})\n`);
  const head = ["layer", "ms (relaxed)", relaxed!, "% of ceiling", fixed!, "% of ceiling", ...threaded, ...peers];
  console.log(`| ${head.join(" | ")} |`);
  console.log(`| ${head.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`);
  for (const l of r.layers) {
    const a = l.results[relaxed!]?.[direction], x = l.results[fixed!]?.[direction];
    const ceilingShare = (c: Cell | undefined, ceiling: number | null) =>
      direction === "db" || !c?.gflops || !ceiling ? "" : `${((100 * c.gflops) / ceiling).toFixed(0)} %`;
    const cells = [
      l.name, f(a?.medianMs, 3), f(a?.gflops), ceilingShare(a, r.ceiling.relaxed), f(x?.gflops), ceilingShare(x, r.ceiling.fixed),
      ...threaded.map((t) => l.results[t]?.[direction]).map((c) => (c?.gflops && a?.gflops ? `${f(c.gflops)} (${(c.gflops / a.gflops).toFixed(2)}×)` : "–")),
      ...peers.map((p) => {
        const c = l.results[p]?.[direction];
        return c?.gflops && a?.gflops ? `${f(c.gflops, c.gflops < 1 ? 2 : 1)} (${(a.gflops / c.gflops).toFixed(2)}×)` : "–";
      }),
    ];
    console.log(`| ${cells.join(" | ")} |`);
  }
  console.log("");
}
console.log("#### Memory of wasm-conv2d per layer (a fresh runtime after every direction ran)\n");
console.log("| layer | shape (N, C, H=W, F, K, stride, pad, dilation, groups) | wasm memory | kernel scratch |");
console.log("| --- | --- | ---: | ---: |");
for (const l of r.layers) {
  console.log(`| ${l.name} | ${[l.N, l.C, l.size, l.F, l.K, l.stride, l.pad, l.dilation, l.groups].join(", ")} | `
    + `${l.memory ? (l.memory.wasmMemoryBytes / 2 ** 20).toFixed(2) + " MiB" : "–"} | ${l.memory ? (l.memory.scratchBytes / 1024).toFixed(0) + " KiB" : "–"} |`);
}
