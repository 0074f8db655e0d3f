// The example page: loads the package from /dist, runs the gradient checks and the quick benchmark, shows a table and a chart.

import * as api from "../../dist/index.js";
import { barChartSvg } from "../../bench/lib/bar-chart.ts";
import { DIRECTIONS, timeLayers, type TimingRow } from "../../bench/lib/portable-timing.ts";
import { LAYERS } from "../../bench/lib/layers.ts";
import { runtimeName } from "../../bench/lib/runtime-name.ts";

const GRADCHECKS: [string, api.GradcheckConfig][] = [
  ["stride 1, pad 1", { pad: 1 }],
  ["stride 2, pad 1", { stride: 2, pad: 1 }],
  ["stride 3, asymmetric pad", { stride: 3, pad: { top: 1, bottom: 0, left: 2, right: 1 }, height: 8, width: 9 }],
  ["dilation 2, pad 2", { dilation: 2, pad: 2 }],
  ["groups 2", { groups: 2, inChannels: 4, outChannels: 6, pad: 1 }],
  ["depthwise, pad same", { groups: 3, inChannels: 3, outChannels: 3, pad: "same" }],
  ["stride 2 + dilation 2 + groups 2", { stride: 2, dilation: 2, groups: 2, inChannels: 4, outChannels: 4, pad: 1, height: 9, width: 9 }],
];

const $ = (selector: string) => document.querySelector(selector)!;
const cell = (text: string, className = "") => `<td class="${className}">${text}</td>`;

export interface PageResults {
  runtime: string;
  simd: string;
  gradcheck: { name: string; dx: number; dw: number; db: number; passed: boolean }[];
  bench: TimingRow[];
  error?: string;
}

async function main(results: PageResults): Promise<void> {
  // ?samples=3&minSampleMs=10 shortens the benchmark (the page test uses it).
  const params = new URLSearchParams(location.search);
  const samples = Number(params.get("samples") ?? 7);
  const minSampleMs = Number(params.get("minSampleMs") ?? 25);
  // The fastest build this engine runs ("auto"); the page says which it got.
  const runtime = await api.init({ simd: "auto" });
  // The user agent string carries only the major version; Chromium tells the build on request.
  const brands = (navigator as unknown as { userAgentData?: { getHighEntropyValues(h: string[]): Promise<{ fullVersionList?: { brand: string; version: string }[] }> } }).userAgentData;
  const full = (await brands?.getHighEntropyValues(["fullVersionList"]))?.fullVersionList?.find((b) => /Chrom/.test(b.brand));
  if (full) results.runtime = `${full.brand} ${full.version}`;
  results.simd = runtime.simd;
  $("#environment").textContent = `${results.runtime}, ${runtime.simd} SIMD build, ` +
    `${crossOriginIsolated ? "cross-origin isolated" : "not cross-origin isolated"}.`;
  $("#tolerance").textContent = String(api.GRADCHECK_TOLERANCE);
  $("#samples").textContent = String(samples);

  const gradcheckBody = $("#gradcheck tbody");
  for (const [name, config] of GRADCHECKS) {
    const r = api.gradcheckConv2d({ ...config, seed: 1 });
    results.gradcheck.push({ name, dx: r.dx, dw: r.dw, db: r.db, passed: r.passed });
    gradcheckBody.insertAdjacentHTML("beforeend", `<tr>${cell(name)}${cell(r.dx.toExponential(1))}${cell(r.dw.toExponential(1))}` +
      `${cell(r.db.toExponential(1))}${cell(r.passed ? "ok" : "FAILED", r.passed ? "pass" : "fail")}</tr>`);
  }

  const layers = LAYERS.filter((l) => l.quick);
  const benchBody = $("#bench tbody");
  for (const l of layers) {
    const shape = `${l.N}×${l.C}×${l.size}×${l.size} → ${l.F}, ${l.K}×${l.K} stride ${l.stride}${l.groups > 1 ? ` groups ${l.groups}` : ""}${l.dilation > 1 ? ` dilation ${l.dilation}` : ""}`;
    benchBody.insertAdjacentHTML("beforeend", `<tr>${cell(l.name)}${cell(shape)}${DIRECTIONS.map((d) => `<td id="${l.name}-${d}">…</td>`).join("")}</tr>`);
  }
  $("#bench-status").textContent = "Running…";
  const drawChart = () => {
    $("#chart").innerHTML = barChartSvg({
      title: `Quick layers in ${results.runtime}`,
      unit: "GFLOP/s",
      series: [results.runtime],
      panels: DIRECTIONS.map((direction) => ({
        title: direction,
        groups: layers.map((l) => l.name),
        values: [layers.map((l) => results.bench.find((r) => r.layer === l.name && r.direction === direction)?.gflops ?? NaN)],
      })),
    });
  };
  await timeLayers(api, {
    samples, minSampleMs, simd: "auto",
    onRow: (row) => {
      results.bench.push(row);
      const target = document.getElementById(`${row.layer}-${row.direction}`)!;
      target.textContent = row.gflops.toFixed(2);
      target.title = `${row.ms.toFixed(3)} ms per call`;
      drawChart();
    },
  });
  $("#bench-status").textContent = "Done.";
}

const results: PageResults = { runtime: runtimeName(), simd: "", gradcheck: [], bench: [] };
(window as unknown as { results: PageResults }).results = results;
main(results).then(
  () => { document.body.dataset.state = "done"; },
  (error: unknown) => {
    results.error = String((error as Error)?.stack ?? error);
    $("#environment").textContent = `Failed: ${results.error}`;
    document.body.dataset.state = "failed";
  },
);
