// Where npm start's one-thread training step goes: an instrumented run of the same trainer, every kernel call and every layer call timed, as ms per step and % of the step.

// It times what runs, in place: the runtime's kernel exports are wrapped (so a call's time is the
// wasm it ran; a convolution's plan/prepare/run calls are put under the direction they serve), the
// LeNet's layers are wrapped (so a layer call's time less its kernels' is the JS it spent: argument
// checks, tensor allocation, conv planning), and Adam's step and zeroGrad likewise; what the step
// spends outside all of those is the JS between calls (the trainer's loop, scope(), Sequential's
// bookkeeping, the batch's upload, the loss's labels). The training itself is examples/mnist/
// trainer.mjs's trainModel, unchanged. The wrappers cost a little (measured and printed), so this
// run is kept apart from the timed ones. It reaches into runtime.kernels, an internal of the API: a
// profiler's licence, not a pattern for code that ships.
import { Adam, init } from "wasm-conv2d";
import { DEFAULTS, leNet } from "../../examples/mnist/lenet.mjs";
import { trainModel } from "../../examples/mnist/trainer.mjs";

/** Direction numbers as js/core/kernels.ts's Direction (checked against the module at init()). */
const DIRECTIONS = ["forward", "dx", "dw", "db"];
const CONV_KERNELS = new Set(["conv2dPlan", "conv2dPrepare", "conv2dTasks", "conv2dRun", "conv2dPath"]);
/** How the kernels called outside any layer are named in the table. */
const OUTSIDE = { softmaxCrossEntropy: "loss: softmaxCrossEntropy", countCorrect: "train accuracy: countCorrect" };

/**
 * Trains npm start's LeNet for `epochs` on data (splitDigits's), fixed SIMD build, one thread, with
 * every call timed. Returns { steps, stepMs, rows: [{ part, kind: "conv" | "kernel" | "js", ms }],
 * overheadMs, testAccuracy }: ms are per step, rows in the order the step first ran them.
 */
export async function profileStep(data, { epochs = 1, trainSize = DEFAULTS.trainSize } = {}) {
  const runtime = await init({ simd: "fixed", threads: 1 });
  const totals = new Map();
  const add = (key, ms) => totals.set(key, (totals.get(key) ?? 0) + ms);
  let context = null;
  let direction = 0;
  // Off while the trainer evaluates on the test digits (the model in evaluation mode): only the steps count.
  const recording = { on: true };
  let kernelCalls = 0, layerCalls = 0;

  const raw = runtime.kernels;
  const timed = Object.create(raw);
  for (const [name, fn] of Object.entries(raw)) {
    if (typeof fn !== "function" || name.startsWith("__")) continue;
    const conv = CONV_KERNELS.has(name);
    timed[name] = (...args) => {
      if (!recording.on) return fn(...args);
      if (name === "conv2dPrepare") direction = args[0];
      else if (name === "conv2dPlan") direction = args[1];
      const start = performance.now();
      try {
        return fn(...args);
      } finally {
        const ms = performance.now() - start;
        kernelCalls++;
        if (context) context.kernelMs += ms;
        add(`${conv ? "conv" : "kernel"}\t${context?.label ?? "outside"}\t${conv ? DIRECTIONS[direction] : name}`, ms);
      }
    };
  }
  // Calls of the API are timed whole; their JS is their time less their kernels'.
  const within = (label, call) => {
    if (context || !recording.on) return call();
    context = { label, kernelMs: 0 };
    const start = performance.now();
    try {
      return call();
    } finally {
      const ms = performance.now() - start;
      layerCalls++;
      add(`js\t${label}`, ms - context.kernelMs);
      context = null;
    }
  };

  // The layers are timed in place (their methods replaced on the instances), not wrapped, so that the
  // Sequential sees its own layers and fuses a ReLU into the MaxPool2x2 after it as it always does.
  const model = leNet(DEFAULTS.seed);
  model.layers.forEach((layer, i) => profileLayer(layer, `[${i}] ${layer.name}`, within, recording));
  const proto = Adam.prototype;
  const { step } = proto;
  proto.step = function profiledStep() { return within("Adam.step", () => step.call(this)); };
  proto.zeroGrad = function profiledZeroGrad() { return within("Adam.zeroGrad", () => Object.getPrototypeOf(proto).zeroGrad.call(this)); };
  Object.defineProperty(runtime, "kernels", { value: timed, writable: true, configurable: true });
  let history;
  try {
    const settings = { ...DEFAULTS, epochs, trainSize };
    // lenet.mjs's train() schedule (its lr per epoch); the profile does not depend on it.
    history = trainModel(model, data, settings, (epoch) => settings.lr * settings.lrDecay ** (epoch - 1), { forward: 0, backward: 0 });
  } finally {
    Object.defineProperty(runtime, "kernels", { value: raw, writable: true, configurable: true });
    proto.step = step;
    delete proto.zeroGrad;
    model.dispose();
  }

  const steps = epochs * Math.ceil(trainSize / DEFAULTS.batchSize);
  const stepMs = history.reduce((s, r) => s + r.seconds, 0) * 1000 / steps;
  const rows = [];
  let accounted = 0;
  for (const [key, ms] of totals) {
    const [kind, where, what] = key.split("\t");
    const perStep = ms / steps;
    accounted += perStep;
    // "[3] Conv2d(8 → 16, 5×5) backward: dw", "[1] ReLU forward: reluForward", "JS in [1] ReLU forward".
    const part = kind === "js" ? `JS in ${where}` : where === "outside" ? OUTSIDE[what] ?? what
      : kind === "conv" && where.endsWith(" forward") ? where : `${where}: ${what}`;
    rows.push({ part, kind, ms: perStep });
  }
  rows.push({ part: "JS between calls (trainer loop, scope, Sequential, batch upload, labels)", kind: "js", ms: stepMs - accounted });
  return {
    steps, stepMs, rows, overheadMs: instrumentationMs(kernelCalls / steps, layerCalls / steps), testAccuracy: history.at(-1).testAccuracy,
  };
}

/** The table: one row per part, then the totals by kind, ms per step and % of step. */
export function profileTable({ stepMs, rows, steps, overheadMs }) {
  const line = (part, ms) => `| ${part} | ${ms.toFixed(3)} | ${((100 * ms) / stepMs).toFixed(1)} % |`;
  const sum = (kind) => rows.filter((r) => r.kind === kind).reduce((s, r) => s + r.ms, 0);
  // Parts under 0.05 % of the step (a flatten's planning, say) are folded into one line.
  const small = rows.filter((r) => r.ms < stepMs * 5e-4);
  return [
    `Profile of one training step (batch ${DEFAULTS.batchSize}, one thread, fixed SIMD; ${steps} steps, wall clock): ${stepMs.toFixed(2)} ms per step`,
    "",
    "| part | ms per step | % of step |",
    "| --- | ---: | ---: |",
    ...rows.filter((r) => !small.includes(r)).map((r) => line(r.part, r.ms)),
    ...(small.length ? [line(`${small.length} parts under 0.05 % each`, small.reduce((s, r) => s + r.ms, 0))] : []),
    line("**convolutions (kernels)**", sum("conv")),
    line("**other kernels** (ReLU, pooling, flatten, linear, loss, Adam)", sum("kernel")),
    line("**JS** (in the calls and between them)", sum("js")),
    "",
    `(The instrumentation itself adds about ${(overheadMs * 1000).toFixed(0)} µs per step, counted in the JS rows.)`,
  ].join("\n");
}

/** What the wrappers cost per step: a wrapped empty call and a timed empty section, times how many a step makes. */
function instrumentationMs(kernelCallsPerStep, layerCallsPerStep) {
  let spent = 0;
  const empty = (...args) => args.length;
  const wrapped = (...args) => {
    const start = performance.now();
    try { return empty(...args); } finally { spent += performance.now() - start; }
  };
  const count = 200000;
  const start = performance.now();
  for (let i = 0; i < count; i++) wrapped(i, i, i);
  const perCall = (performance.now() - start) / count;
  return spent >= 0 ? perCall * (kernelCallsPerStep + layerCallsPerStep) : NaN;
}

/**
 * Times a layer's forward and backward calls (and a pool's forward with the ReLU before it fused in,
 * which Sequential calls instead of the ReLU's and the pool's forward) as sections named by its
 * label; its train() switches the recording off in evaluation mode.
 */
function profileLayer(layer, label, within, recording) {
  const { forward, backward, train } = layer;
  layer.forward = (x) => within(`${label} forward`, () => forward.call(layer, x));
  layer.backward = (dy, options) => within(`${label} backward`, () => backward.call(layer, dy, options));
  if (typeof layer._forwardAfterRelu === "function") {
    const fused = layer._forwardAfterRelu;
    layer._forwardAfterRelu = (x) => within(`${label} forward, with the ReLU before it`, () => fused.call(layer, x));
  }
  if (typeof train === "function") {
    layer.train = (mode = true) => {
      recording.on = mode;
      return train.call(layer, mode);
    };
  }
}
