// The train panel: starts the training worker, plots loss per step and accuracy per epoch as they come.
// ?epochs=2&trainSize=400&autostart=1 fills the form from the URL and starts at once (the browser test does).

import { drawChart } from "./chart.js";
import { DEFAULTS as RUN_DEFAULTS } from "../mnist/defaults.mjs";

// The options the form offers; the others (lr decay, shifts) keep npm start's defaults in the worker.
const DEFAULTS = Object.fromEntries(["epochs", "batchSize", "lr", "trainSize", "seed"].map((name) => [name, RUN_DEFAULTS[name]]));
const form = document.getElementById("options");
const status = document.getElementById("status");
const progress = document.getElementById("progress");
const log = document.getElementById("log");
const params = new URLSearchParams(location.search);
for (const [name, fallback] of Object.entries(DEFAULTS)) form.elements[name].value = params.get(name) ?? fallback;

form.addEventListener("submit", (event) => {
  event.preventDefault();
  start(Object.fromEntries(Object.keys(DEFAULTS).map((name) => [name, Number(form.elements[name].value)])));
});
if (params.has("autostart")) start(Object.fromEntries(Object.keys(DEFAULTS).map((name) => [name, Number(form.elements[name].value)])));

function start(options) {
  const button = document.getElementById("train");
  button.disabled = true;
  log.textContent = "";
  const losses = [], trainAccuracy = [], testAccuracy = [];
  let stepsPerEpoch = 1;
  const redraw = () => {
    const xMax = options.epochs;
    drawChart(document.getElementById("loss-chart"), {
      xMax, yMax: Math.max(0.5, ...losses.slice(5).map(([, v]) => v)), xLabel: "epoch",
      series: [{ label: "training loss (mean of 10 steps)", color: "#c33", points: smooth(losses, 10) }],
    });
    drawChart(document.getElementById("accuracy-chart"), {
      xMax, yMin: Math.min(0.8, Math.floor(10 * Math.min(1, ...trainAccuracy.map(([, v]) => v))) / 10), yMax: 1,
      xLabel: "epoch", yFormat: (v) => `${Math.round(v * 100)}%`,
      series: [
        { label: "test accuracy", color: "#36c", points: testAccuracy },
        { label: "training accuracy", color: "#999", points: trainAccuracy },
      ],
    });
  };
  redraw();
  const worker = new Worker(new URL("../../build/train-worker.js", import.meta.url), { type: "module" });
  worker.onmessage = ({ data: message }) => {
    if (message.type === "status") status.textContent = message.text;
    if (message.type === "batch") {
      stepsPerEpoch = message.batches;
      losses.push([message.epoch - 1 + message.batch / message.batches, message.loss]);
      progress.value = (message.epoch - 1 + message.batch / message.batches) / options.epochs;
      status.textContent = `epoch ${message.epoch}/${options.epochs}, step ${message.batch}/${message.batches}, loss ${message.loss.toFixed(4)}`;
      if (message.batch % 10 === 0 || message.batch === message.batches) redraw();
    }
    if (message.type === "epoch") {
      const r = message.record;
      trainAccuracy.push([r.epoch, r.trainAccuracy]);
      testAccuracy.push([r.epoch, r.testAccuracy]);
      log.textContent += `epoch ${r.epoch}: loss ${r.loss.toFixed(4)}, train ${(100 * r.trainAccuracy).toFixed(2)}%, ` +
        `test ${(100 * r.testAccuracy).toFixed(2)}%, ${r.seconds.toFixed(2)} s\n`;
      redraw();
    }
    if (message.type === "done" || message.type === "error") {
      worker.terminate();
      button.disabled = false;
      if (message.type === "error") {
        status.textContent = `error: ${message.message}`;
        window.trainResult = { error: message.message };
      } else {
        status.textContent = `test accuracy: ${(100 * message.history.at(-1).testAccuracy).toFixed(2)}% after ${message.seconds.toFixed(1)} s`;
        window.trainResult = { history: message.history, stepsPerEpoch };
      }
    }
  };
  worker.postMessage({ type: "train", options });
}

/** Mean of each run of `size` consecutive points, as one point: the per-step loss is noisy. */
function smooth(points, size) {
  const out = [];
  for (let i = size; i <= points.length; i += size) {
    const run = points.slice(i - size, i);
    out.push([run.at(-1)[0], run.reduce((s, [, v]) => s + v, 0) / size]);
  }
  return out;
}
