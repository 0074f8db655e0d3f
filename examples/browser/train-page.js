// The train panel: starts the training worker (LeNet, ResNet or autoencoder, or fine-tuning a picked .onnx or .safetensors file), plots the loss per step and accuracy or error per epoch as they come, shows the autoencoder's reconstructions and the fine-tuned model's download links.
// ?model=resnet&epochs=2&trainSize=400&autostart=1 fills the form from the URL and starts at once (the browser tests do; a file to fine-tune is picked, then "fine-tune" pressed).

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

const finetuneForm = document.getElementById("finetune");
const buttons = [document.getElementById("train"), document.getElementById("finetune-button")];
let running = false;
const enable = () => {
  buttons[0].disabled = running;
  buttons[1].disabled = running || finetuneForm.elements.file.files.length === 0;
};
finetuneForm.elements.file.addEventListener("change", enable);

form.addEventListener("submit", (event) => {
  event.preventDefault();
  start(form.elements.model.value, read());
});
finetuneForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const file = finetuneForm.elements.file.files[0];
  if (file) start("finetune", read(), file);
});
if (params.has("autostart")) start(form.elements.model.value, read());

/** Runs the worker: kind is "lenet", "resnet", "autoencoder", or "finetune" with the picked file. Sets window.trainResult when done. */
async function start(kind, options, file = null) {
  if (running) return;
  running = true;
  enable();
  window.trainResult = undefined;
  log.textContent = "";
  progress.value = 0;
  clearDownloads();
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
        xMax, yMin: Math.min(0.8, Math.floor(10 * Math.min(1, ...[...trainAccuracy, ...(file ? testAccuracy : [])].map(([, v]) => v))) / 10), yMax: 1,
        xLabel: "epoch", yFormat: (v) => `${Math.round(v * 100)}%`,
        series: [
          { label: "test accuracy", color: "#36c", points: testAccuracy },
          { label: "training accuracy", color: "#999", points: trainAccuracy },
        ],
      });
    }
  };
  redraw();
  let bytes;
  try {
    bytes = file ? await file.arrayBuffer() : null;
  } catch (error) {
    finish({ type: "error", name: error.name, message: `cannot read the file: ${error.message}` });
    return;
  }
  const worker = new Worker(new URL("../../build/train-worker.js", import.meta.url), { type: "module" });
  worker.onmessage = ({ data: message }) => {
    if (message.type === "status") status.textContent = message.text;
    if (message.type === "evaluated") {
      testAccuracy.push([0, message.before]);
      log.textContent += `${file.name} (${message.format}, ${message.parameters.toLocaleString("en")} parameters) as loaded: test ${(100 * message.before).toFixed(2)}%\n`;
      status.textContent = `fine-tuning: test accuracy ${(100 * message.before).toFixed(2)}% before`;
      redraw();
    }
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
      finish(message);
    }
  };
  // A worker that cannot start (build/train-worker.js missing: npm run build) or throws outside its handler.
  worker.onerror = (event) => {
    event.preventDefault();
    worker.terminate();
    finish({ type: "error", name: "Error", message: `the training worker failed: ${event.message || "build/train-worker.js did not load (npm run build)"}` });
  };
  worker.postMessage(file
    ? { type: "finetune", name: file.name, bytes, options }
    : { type: "train", model: kind, options }, bytes ? [bytes] : []);

  function finish(message) {
    running = false;
    enable();
    if (message.type === "error") {
      // A ConvError says what is wrong with the file ("loadSafetensors: bytes: expected …"); another error's stack goes to the log.
      const what = `${message.name ?? "Error"}${message.code ? ` (${message.code})` : ""}: ${message.message}`;
      status.textContent = file ? `error in "${file.name}": ${what}` : `error: ${what}`;
      if (message.stack) log.textContent += `${message.stack}\n`;
      window.trainResult = { error: message.message, name: message.name, code: message.code };
      return;
    }
    if (file) {
      const downloads = showDownloads(file.name, message);
      status.textContent = `test accuracy: ${(100 * message.before).toFixed(2)}% before, ${(100 * message.after).toFixed(2)}% after fine-tuning ` +
        `(${message.seconds.toFixed(1)} s)`;
      window.trainResult = {
        model: "finetune", format: message.format, before: message.before, after: message.after, history: message.history, stepsPerEpoch, downloads,
      };
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
}

/** The fine-tuned model's links (blob URLs, named after the picked file); returns their names and sizes. */
function showDownloads(picked, { safetensors, onnx, onnxError }) {
  const base = picked.replace(/\.(onnx|safetensors)$/i, "");
  const link = (id, bytes, extension) => {
    const a = document.getElementById(id);
    a.hidden = !bytes;
    if (!bytes) return null;
    a.href = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
    a.download = `${base}-finetuned.${extension}`;
    a.textContent = `${a.download} (${bytes.byteLength.toLocaleString("en")} bytes)`;
    return { name: a.download, bytes: bytes.byteLength };
  };
  const files = { safetensors: link("download-safetensors", safetensors, "safetensors"), onnx: link("download-onnx", onnx, "onnx") };
  document.getElementById("onnx-error").textContent = onnxError ? `(no .onnx: ${onnxError.name}: ${onnxError.message})` : "";
  document.getElementById("downloads").hidden = false;
  return files;
}

/** Hides the last run's links and frees their blobs. */
function clearDownloads() {
  document.getElementById("downloads").hidden = true;
  for (const id of ["download-safetensors", "download-onnx"]) {
    const a = document.getElementById(id);
    if (a.href.startsWith("blob:")) URL.revokeObjectURL(a.href);
    a.removeAttribute("href");
  }
  document.getElementById("onnx-error").textContent = "";
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
