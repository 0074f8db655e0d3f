// The train panel: starts the training worker (LeNet, ResNet or autoencoder), plots the loss per step and accuracy or error per epoch as they come, and shows the autoencoder's reconstructions.
// ?model=resnet&epochs=2&trainSize=400&autostart=1 fills the form from the URL and starts at once (the browser test does).

import { drawChart } from "./chart.js";
import { DEFAULTS as LENET, RESNET_DEFAULTS as RESNET, AUTOENCODER_DEFAULTS as AUTOENCODER } from "../mnist/defaults.mjs";

// The options the form offers; the others (lr decay, shifts) keep each example's defaults in the worker.
const FIELDS = ["epochs", "batchSize", "lr", "trainSize", "seed"];
const MODEL_DEFAULTS = { lenet: LENET, resnet: RESNET, autoencoder: AUTOENCODER };
const form = document.getElementById("options");
const status = document.getElementById("status");
const progress = document.getElementById("progress");
const log = document.getElementById("log");
const params = new URLSearchParams(location.search);
form.elements.model.value = MODEL_DEFAULTS[params.get("model")] ? params.get("model") : "lenet";
const fill = (fromUrl) => {
  for (const name of FIELDS) form.elements[name].value = (fromUrl && params.get(name)) ?? MODEL_DEFAULTS[form.elements.model.value][name];
};
fill(true);
form.elements.model.addEventListener("change", () => fill(false));
const read = () => Object.fromEntries(FIELDS.map((name) => [name, Number(form.elements[name].value)]));

form.addEventListener("submit", (event) => {
  event.preventDefault();
  start(form.elements.model.value, read());
});
if (params.has("autostart")) start(form.elements.model.value, read());

function start(kind, options) {
  const button = document.getElementById("train");
  button.disabled = true;
  log.textContent = "";
  document.getElementById("reconstructions").hidden = kind !== "autoencoder";
  const losses = [], trainAccuracy = [], testAccuracy = [], testError = [];
  let stepsPerEpoch = 1;
  const redraw = () => {
    const xMax = options.epochs;
    drawChart(document.getElementById("loss-chart"), {
      xMax, yMax: Math.max(kind === "autoencoder" ? 0.02 : 0.5, ...losses.slice(5).map(([, v]) => v)), xLabel: "epoch",
      yFormat: kind === "autoencoder" ? (v) => v.toFixed(3) : undefined,
      series: [{ label: "training loss (mean of 10 steps)", color: "#c33", points: smooth(losses, 10) }],
    });
    if (kind === "autoencoder") {
      drawChart(document.getElementById("accuracy-chart"), {
        xMax, yMax: Math.max(0.01, ...testError.map(([, v]) => v)), xLabel: "epoch", yFormat: (v) => v.toFixed(3),
        series: [{ label: "test reconstruction error (MSE per pixel)", color: "#36c", points: testError }],
      });
    } else {
      drawChart(document.getElementById("accuracy-chart"), {
        xMax, yMin: Math.min(0.8, Math.floor(10 * Math.min(1, ...trainAccuracy.map(([, v]) => v))) / 10), yMax: 1,
        xLabel: "epoch", yFormat: (v) => `${Math.round(v * 100)}%`,
        series: [
          { label: "test accuracy", color: "#36c", points: testAccuracy },
          { label: "training accuracy", color: "#999", points: trainAccuracy },
        ],
      });
    }
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
      if (kind === "autoencoder") {
        testError.push([r.epoch, r.testError]);
        log.textContent += `epoch ${r.epoch}: loss ${r.loss.toFixed(5)}, test error ${r.testError.toFixed(5)}, ${r.seconds.toFixed(2)} s\n`;
      } else {
        trainAccuracy.push([r.epoch, r.trainAccuracy]);
        testAccuracy.push([r.epoch, r.testAccuracy]);
        log.textContent += `epoch ${r.epoch}: loss ${r.loss.toFixed(4)}, train ${(100 * r.trainAccuracy).toFixed(2)}%, ` +
          `test ${(100 * r.testAccuracy).toFixed(2)}%, ${r.seconds.toFixed(2)} s\n`;
      }
      redraw();
    }
    if (message.type === "done" || message.type === "error") {
      worker.terminate();
      button.disabled = false;
      if (message.type === "error") {
        status.textContent = `error: ${message.message}`;
        window.trainResult = { error: message.message };
        return;
      }
      const last = message.history.at(-1);
      status.textContent = kind === "autoencoder"
        ? `test reconstruction error: ${last.testError.toFixed(5)} after ${message.seconds.toFixed(1)} s`
        : `test accuracy: ${(100 * last.testAccuracy).toFixed(2)}% after ${message.seconds.toFixed(1)} s`;
      if (message.grid) drawDigits(document.getElementById("reconstructions"), [message.grid.originals, message.grid.reconstructions], message.grid.count);
      window.trainResult = { model: kind, history: message.history, stepsPerEpoch, grid: message.grid && {
        count: message.grid.count, originals: Array.from(message.grid.originals), reconstructions: Array.from(message.grid.reconstructions),
      } };
    }
  };
  worker.postMessage({ type: "train", model: kind, options });
}

/** Rows of 28×28 digits (pixels in [0, 1], ink dark on white), scaled ×2 with 4 px margins, on a canvas. */
function drawDigits(canvas, rows, columns) {
  const scale = 2, cell = 28 * scale, gap = 4;
  canvas.width = columns * (cell + gap) + gap;
  canvas.height = rows.length * (cell + gap) + gap;
  const context = canvas.getContext("2d");
  const image = context.createImageData(canvas.width, canvas.height);
  image.data.fill(255);
  rows.forEach((pixels, r) => {
    for (let c = 0; c < columns; c++) {
      for (let y = 0; y < cell; y++) {
        for (let x = 0; x < cell; x++) {
          const v = 255 - Math.round(255 * Math.min(1, Math.max(0, pixels[c * 784 + Math.floor(y / scale) * 28 + Math.floor(x / scale)])));
          const at = 4 * ((gap + r * (cell + gap) + y) * canvas.width + gap + c * (cell + gap) + x);
          image.data[at] = image.data[at + 1] = image.data[at + 2] = v;
        }
      }
    }
  });
  context.putImageData(image, 0, 0);
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
