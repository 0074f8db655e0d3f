// The PyTorch-written fixtures of test/fixtures/models/ (see its README): reading them, and the float32 comparisons the model tests make against them.

import { readFileSync } from "node:fs";
import { loadSafetensors, type SafetensorsEntry } from "../../js/index.js";

export const FIXTURES = new URL("../fixtures/models/", import.meta.url);

/** A fixture file's bytes. */
export function fixtureBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, FIXTURES)));
}

/** A safetensors fixture, floats as float32. */
export function fixtureTensors(name: string): Record<string, SafetensorsEntry> {
  return loadSafetensors(fixtureBytes(name), { toFloat32: true });
}

/** What PyTorch computed for a network on the fixed inputs (`<net>-io.safetensors`). */
export interface TorchRun {
  x: SafetensorsEntry;
  labels: Int32Array;
  logitsEval: Float32Array;
  logitsTrain: Float32Array;
  lossTrain: number;
  /** dL/dθ of the training-mode loss, by parameter name. */
  grads: Map<string, Float32Array>;
  /** The buffers after that training forward ("1.running_mean", …). */
  afterTrain: Map<string, Float32Array>;
}

export function torchRun(net: string): TorchRun {
  const io = fixtureTensors(`${net}-io.safetensors`);
  const prefixed = (prefix: string) => new Map(Object.entries(io).filter(([k]) => k.startsWith(prefix))
    .map(([k, v]) => [k.slice(prefix.length), Float32Array.from(v.data as ArrayLike<number | bigint>, Number)]));
  return {
    x: io.x!,
    labels: Int32Array.from(io.labels!.data as BigInt64Array, Number),
    logitsEval: io.logits_eval!.data as Float32Array,
    logitsTrain: io.logits_train!.data as Float32Array,
    lossTrain: (io.loss_train!.data as Float32Array)[0]!,
    grads: prefixed("grad."),
    afterTrain: prefixed("after_train."),
  };
}

/** max |a − b| / max(1, max |b|): the error of a against b on b's scale, as "within 1e-4" means it. */
export function scaledError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return Number.isNaN(diff) ? Infinity : diff / scale;
}
