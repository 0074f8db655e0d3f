// npx tsx bench/targets.ts bench/results/<run>.json: the speed issue's per-layer targets, each met or the measured gap, from one `npm run bench` run.

import { readFile } from "node:fs/promises";

interface Cell { medianMs?: number; gflops?: number; unsupported?: string }
interface Results {
  date: string; command: string;
  ceiling: { fixed: number; relaxed: number | null };
  layers: { name: string; K: number; stride: number; dilation: number; groups: number; C: number; F: number; results: Record<string, Record<string, Cell>> }[];
}

const file = process.argv[2];
if (!file) throw new Error("usage: npx tsx bench/targets.ts bench/results/<run>.json");
const r = JSON.parse(await readFile(file, "utf8")) as Results;
// Runs before the best-of ceiling stored a number per build; later ones store the best and its breakdown.
const best = (c: unknown): number | null => (typeof c === "number" ? c : c && typeof c === "object" && "best" in c ? Number((c as { best: number }).best) : null);
r.ceiling = { fixed: best(r.ceiling.fixed)!, relaxed: best(r.ceiling.relaxed) };
const XNNPACK = "tfjs-wasm";
const SMALL = ["L1", "L7", "L8", "D1", "X1"];
const WINOGRAD = ["L2", "L3"];
const ours = (build: string) => `wasm-conv2d (${build})`;

const rows: string[][] = [];
const pct = (v: number) => `${(100 * v).toFixed(0)} %`;
const x = (v: number) => `${v.toFixed(2)}×`;
const verdict = (ok: boolean) => (ok ? "met" : "**gap**");

/** GFLOP/s of dx + dw + db together: the two convolutions' FLOPs over the three calls' time. */
function backwardRate(cells: Record<string, Cell> | undefined): number | undefined {
  const parts = ["dx", "dw", "db"].map((d) => cells?.[d]?.medianMs);
  const flopsMs = cells?.dx?.gflops && cells.dx.medianMs ? cells.dx.gflops * cells.dx.medianMs * 1e6 : undefined;
  if (!flopsMs || parts.some((p) => p === undefined)) return undefined;
  return (2 * flopsMs) / parts.reduce((s, p) => s! + p!, 0)! / 1e6;
}

for (const build of ["fixed", "relaxed"] as const) {
  const ceiling = build === "fixed" ? r.ceiling.fixed : r.ceiling.relaxed;
  if (!ceiling) continue;
  const [forwardRatio, backwardRatio] = build === "fixed" ? [1.2, 1.1] : [1.4, 1.3];
  for (const l of r.layers) {
    const mine = l.results[ours(build)], peer = l.results[XNNPACK];
    const f = mine?.forward?.gflops, pf = peer?.forward?.gflops;
    if (f && pf) {
      const ok = f / pf >= forwardRatio || f / ceiling >= 0.95;
      rows.push([build, l.name, "forward", `≥ ${forwardRatio}× XNNPACK or ≥ 95 % of ceiling`, `${x(f / pf)}, ${pct(f / ceiling)}`, verdict(ok)]);
    }
    const b = backwardRate(mine);
    if (b && pf) {
      const ok = b / pf >= backwardRatio || b / ceiling >= 0.9;
      rows.push([build, l.name, "backward", `≥ ${backwardRatio}× XNNPACK's forward or ≥ 90 %`, `${x(b / pf)}, ${pct(b / ceiling)}`, verdict(ok)]);
    }
    if (SMALL.includes(l.name)) {
      for (const d of ["forward", "dx", "dw"]) {
        const g = mine?.[d]?.gflops;
        if (g) rows.push([build, l.name, d, "small layer: ≥ 70 % of ceiling", pct(g / ceiling), verdict(g / ceiling >= 0.7)]);
      }
    }
    if (WINOGRAD.includes(l.name)) {
      const gemm = l.results[ours(`${build}, gemm`)];
      for (const d of ["forward", "dx"]) {
        const w = mine?.[d]?.gflops, g = gemm?.[d]?.gflops;
        if (w && g) {
          rows.push([build, l.name, d, "Winograd: ≥ 1.3× our GEMM and > 100 % of ceiling", `${x(w / g)}, ${pct(w / ceiling)}`, verdict(w / g >= 1.3 && w / ceiling > 1)]);
        }
      }
      if (build === "fixed" && f && pf) rows.push([build, l.name, "forward", "Winograd: ≥ 1.4× XNNPACK", x(f / pf), verdict(f / pf >= 1.4)]);
    }
  }
}

// Two threads, the synchronous API (relaxed build, as the bench's threads column runs it): ≥ 1.8× one thread on L2–L6.
for (const l of r.layers.filter((l) => ["L2", "L3", "L4", "L5", "L6"].includes(l.name))) {
  const one = l.results[ours("relaxed")], two = Object.entries(l.results).find(([name]) => /^wasm-conv2d \(relaxed, \d+ threads\)$/.test(name))?.[1];
  for (const d of ["forward", "dx", "dw"]) {
    const a = one?.[d]?.gflops, b = two?.[d]?.gflops;
    if (a && b) rows.push(["relaxed", l.name, d, "threads (sync API): ≥ 1.8× one thread", x(b / a), verdict(b / a >= 1.8)]);
  }
}

console.log(`Targets of the speed issue in ${file} (${r.date}, \`${r.command}\`); ceiling ${r.ceiling.fixed.toFixed(1)} / ${r.ceiling.relaxed?.toFixed(1) ?? "n/a"} GFLOP/s (fixed / relaxed)\n`);
console.log("| build | layer | direction | target | measured | |");
console.log("| --- | --- | --- | --- | ---: | --- |");
for (const row of rows) console.log(`| ${row.join(" | ")} |`);
const gaps = rows.filter((row) => row[5] !== "met").length;
console.log(`\n${rows.length - gaps} of ${rows.length} met.`);
