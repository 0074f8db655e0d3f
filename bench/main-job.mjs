// npm run bench:main-job: npm start's training beside PyTorch's (../shared/anchors/lenet.py) on 1 and 2 threads, in alternating rounds, then the profile of our one-thread step.

// npm run bench:main-job -- [--epochs 3] [--rounds 2] [--threads 1,2] [--profile-epochs 1] [--no-torch] [--no-profile] [--python /usr/bin/python3]
//
// Each round runs, for each thread count, our training (bench/lib/train-lenet-child.mjs: npm start's
// network, data, trainer and fixed SIMD build, in a fresh process) and then PyTorch's anchor with
// the same epoch count and threads, so that a drift of the machine's speed hits both. Per epoch,
// both figures are the training steps alone: the anchor times its loop of steps (it indexes its
// batches from tensors already in memory), ours from each batch's upload to Adam's step (drawing and
// shifting the batches in JS, and the test pass, are timed apart). Reported: the median epoch of
// each, the ratio ours ÷ PyTorch's per thread count, and the test accuracy after the last epoch. The
// anchor lives outside the repository (../shared, beside a checkout on the project's machines): where
// it, python3 or torch is missing, PyTorch is skipped with the reason, never an error. Then the
// profile (bench/lib/step-profile.mjs): an instrumented one-thread run of the same trainer, apart
// from the timed ones. Writes bench/results/main-job-<date>.json.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { splitDigits } from "../examples/mnist/data.mjs";
import { loadDigitsNode } from "../examples/mnist/load-node.mjs";
import { profileStep, profileTable } from "./lib/step-profile.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const ANCHOR = "../shared/anchors/lenet.py";
const USAGE = "usage: npm run bench:main-job -- [--epochs E] [--rounds R] [--threads 1,2] [--profile-epochs P] [--no-torch] [--no-profile] [--python PATH]";

let values;
try {
  ({ values } = parseArgs({ options: {
    epochs: { type: "string", default: "3" }, rounds: { type: "string", default: "2" }, threads: { type: "string", default: "1,2" },
    "profile-epochs": { type: "string", default: "1" }, "no-torch": { type: "boolean" }, "no-profile": { type: "boolean" },
    python: { type: "string", default: "/usr/bin/python3" }, help: { type: "boolean" },
  } }));
} catch (error) {
  console.error(`${error.message}\n${USAGE}`);
  process.exit(2);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const epochs = Number(values.epochs), rounds = Number(values.rounds), profileEpochs = Number(values["profile-epochs"]);
const threadCounts = values.threads.split(",").map(Number);
const counting = (n) => Number.isInteger(n) && n >= 1 && n <= 1000;
if (![epochs, rounds, profileEpochs, ...threadCounts].every(counting)) {
  console.error(USAGE);
  process.exit(2);
}

const torchMissing = values["no-torch"] ? "--no-torch" : whyNoTorch();
const machine = `${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} cores, Node ${process.versions.node}`;
console.log(`npm start's LeNet against PyTorch's (${ANCHOR}): ${epochs} epochs × ${rounds} rounds per thread count (${threadCounts.join(", ")}); ${machine}`);
console.log(`load average before: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
if (torchMissing) console.log(`PyTorch skipped: ${torchMissing}`);
console.log("Seconds per epoch: the training steps alone, for both.\n");

const runs = [];
for (let round = 1; round <= rounds; round++) {
  for (const threads of threadCounts) {
    runs.push(report({ who: "wasm-conv2d", round, threads, ...ours(threads) }));
    if (!torchMissing) runs.push(report({ who: "pytorch", round, threads, ...pytorch(threads) }));
  }
}

const summary = threadCounts.map((threads) => {
  const of = (who) => {
    const mine = runs.filter((r) => r.who === who && r.threads === threads);
    if (mine.length === 0) return null;
    const seconds = mine.flatMap((r) => r.epochSeconds);
    return { medianSeconds: median(seconds), meanSeconds: seconds.reduce((a, b) => a + b, 0) / seconds.length, epochs: seconds.length,
      testAccuracy: median(mine.map((r) => r.testAccuracy)) };
  };
  const ourSide = of("wasm-conv2d"), theirs = of("pytorch");
  return { threads, ours: ourSide, pytorch: theirs, ratio: theirs ? ourSide.medianSeconds / theirs.medianSeconds : null };
});

console.log("\n| threads | wasm-conv2d s per epoch (median) | PyTorch s per epoch (median) | ours ÷ PyTorch | test accuracy, ours | PyTorch's |");
console.log("| ---: | ---: | ---: | ---: | ---: | ---: |");
for (const s of summary) {
  const theirs = s.pytorch;
  console.log(`| ${s.threads} | ${s.ours.medianSeconds.toFixed(3)} | ${theirs ? theirs.medianSeconds.toFixed(3) : "—"} | ` +
    `${s.ratio ? `${s.ratio.toFixed(2)}×` : "—"} | ${percent(s.ours.testAccuracy)} | ${theirs ? percent(theirs.testAccuracy) : "—"} |`);
}
console.log(`(medians over ${rounds} rounds × ${epochs} epochs; accuracies after epoch ${epochs}, median over the rounds)`);

let profile = null;
if (!values["no-profile"]) {
  console.log("");
  profile = await profileStep(splitDigits(loadDigitsNode()), { epochs: profileEpochs });
  console.log(profileTable(profile));
}
console.log(`\nload average after: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);

const stamp = new Date().toISOString().slice(0, 16).replace(":", "-");
await mkdir(new URL("./results/", import.meta.url), { recursive: true });
const file = `bench/results/main-job-${stamp}.json`;
await writeFile(new URL(`../${file}`, import.meta.url), JSON.stringify({
  date: new Date().toISOString(), command: `npm run bench:main-job -- ${process.argv.slice(2).join(" ")}`.trim(), machine, load: os.loadavg(),
  settings: { epochs, rounds, threads: threadCounts, profileEpochs }, pytorchSkipped: torchMissing, summary, runs, profile,
}, null, 1));
console.log(`wrote ${file}`);

/** Our training in a process of its own: per-epoch seconds (steps alone) and the last test accuracy. */
function ours(threads) {
  const out = execFileSync(process.execPath, ["bench/lib/train-lenet-child.mjs", "--threads", String(threads), "--epochs", String(epochs)],
    { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 24 });
  const { history, threads: used } = JSON.parse(out.trim().split("\n").at(-1));
  if (used !== threads) throw new Error(`asked for ${threads} threads, the runtime has ${used}`);
  return { epochSeconds: history.map((r) => r.seconds), dataSeconds: history.map((r) => r.dataSeconds), testAccuracy: history.at(-1).testAccuracy };
}

/** The anchor, as its README runs it, from the project's root: its per-epoch lines and its last accuracy. */
function pytorch(threads) {
  const out = execFileSync(values.python, [ANCHOR, "--threads", String(threads), "--epochs", String(epochs)], { cwd: ROOT, encoding: "utf8" });
  const epochSeconds = [...out.matchAll(/^epoch \d+\/\d+\s+(\d+\.\d+) s .*test (\d+\.\d+)%$/gm)].map((m) => Number(m[1]));
  const accuracy = out.match(/test accuracy: (\d+\.\d+)%/);
  if (epochSeconds.length !== epochs || !accuracy) throw new Error(`${ANCHOR}'s output has changed: update bench/main-job.mjs\n${out}`);
  return { epochSeconds, testAccuracy: Number(accuracy[1]) / 100, version: out.match(/^pytorch (\S+),/m)?.[1] };
}

/** Why PyTorch cannot run here (null when it can). */
function whyNoTorch() {
  if (!existsSync(new URL(`../${ANCHOR}`, import.meta.url))) return `no ${ANCHOR} beside this checkout (it lives on the project's machines, not in the repository)`;
  if (!existsSync(values.python)) return `no ${values.python}`;
  const probe = spawnSync(values.python, ["-c", "import torch"], { encoding: "utf8" });
  if (probe.status !== 0) return `${values.python} cannot import torch (apt-get install -y python3-torch)`;
  return null;
}

function report(run) {
  console.log(`${run.who.padEnd(11)} ${run.threads} thread${run.threads > 1 ? "s" : " "} round ${run.round}: ` +
    `${run.epochSeconds.map((s) => s.toFixed(2)).join(" ")} s per epoch, test ${percent(run.testAccuracy)}`);
  return run;
}

function median(list) {
  const sorted = [...list].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function percent(fraction) {
  return `${(100 * fraction).toFixed(2)} %`;
}
