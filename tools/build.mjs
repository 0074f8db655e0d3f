// npm run build: builds what is out of date — the wasm modules (asc), dist/ (tsc), the train page's worker bundle — and nothing else.

// Each step lists its inputs and outputs; it runs when an output is missing or older than an input
// (or with --force). A fresh clone builds everything (about 45 s on two cores); a build with nothing
// changed takes well under a second, so npm start, npm test and npm run serve can all begin with it.

import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const force = process.argv.includes("--force");
const bin = (name) => join(ROOT, "node_modules/.bin", name);

/** Every file under a folder (relative to the root), recursively. */
function filesUnder(folder, accept = () => true) {
  const dir = join(ROOT, folder);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && accept(e.name))
    .map((e) => relative(ROOT, join(e.parentPath ?? e.path, e.name)));
}

const mtime = (file) => statSync(join(ROOT, file)).mtimeMs;

/** Whether a step must run: an output is missing, or some input is newer than the oldest output. */
function stale(inputs, outputs) {
  if (force) return true;
  if (outputs.some((f) => !existsSync(join(ROOT, f)))) return true;
  const oldestOutput = Math.min(...outputs.map(mtime));
  return inputs.some((f) => mtime(f) > oldestOutput);
}

function step(name, inputs, outputs, run) {
  if (!stale(inputs, outputs)) return false;
  const started = Date.now();
  run();
  console.error(`built ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return true;
}

const asconfig = JSON.parse(readFileSync(join(ROOT, "asconfig.json"), "utf8"));
const assemblyInputs = [...filesUnder("assembly", (n) => n.endsWith(".ts") || n.endsWith(".json")), "asconfig.json", "package-lock.json"];
for (const [target, { outFile }] of Object.entries(asconfig.targets)) {
  step(outFile, assemblyInputs, [outFile], () => {
    execFileSync(bin("asc"), ["assembly/index.ts", "--target", target], { cwd: ROOT, stdio: ["ignore", 2, 2] });
  });
}

const jsInputs = [...filesUnder("js", (n) => n.endsWith(".ts")), "tsconfig.json", "tsconfig.build.json", "package-lock.json"];
const jsOutputs = jsInputs.filter((f) => f.startsWith("js/")).map((f) => f.replace(/^js\//, "dist/").replace(/\.ts$/, ".js"));
step("dist/", jsInputs, jsOutputs, () => {
  // From scratch: a source that was moved or deleted must not leave its old output behind.
  rmSync(join(ROOT, "dist"), { recursive: true, force: true });
  execFileSync(bin("tsc"), ["-p", "tsconfig.build.json"], { cwd: ROOT, stdio: ["ignore", 2, 2] });
});

const workerInputs = ["examples/browser/train-worker.js", ...filesUnder("examples/mnist"), ...jsOutputs];
step("build/train-worker.js", workerInputs, ["build/train-worker.js"], () => {
  execFileSync(bin("esbuild"), ["examples/browser/train-worker.js", "--bundle", "--format=esm", "--outfile=build/train-worker.js", "--log-level=warning"],
    { cwd: ROOT, stdio: ["ignore", 2, 2] });
});

// The bench's SIMD ceiling probes (npm run bench asks for them with --bench).
if (process.argv.includes("--bench")) {
  const ceilingInputs = filesUnder("bench/wasm");
  for (const [file, features] of [["build/ceiling-simd.wasm", "simd"], ["build/ceiling-relaxed.wasm", "simd,relaxed-simd"]]) {
    step(file, ceilingInputs, [file], () => {
      execFileSync(bin("asc"), ["bench/wasm/ceiling.ts", "-O3", "--enable", features, "--runtime", "stub", "-o", file], { cwd: ROOT, stdio: ["ignore", 2, 2] });
    });
  }
  // The cross-runtime reproduction (npm run bench:probe): two pages of memory hold its panels.
  step("build/runtime-probe.wasm", [...ceilingInputs, ...filesUnder("assembly/gemm"), "assembly/simd.ts"], ["build/runtime-probe.wasm"], () => {
    execFileSync(bin("asc"), ["bench/wasm/runtime-probe.ts", "-O3", "--enable", "simd", "--runtime", "stub", "--initialMemory", "2", "-o", "build/runtime-probe.wasm"],
      { cwd: ROOT, stdio: ["ignore", 2, 2] });
  });
}
