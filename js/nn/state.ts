// State dicts: a layer's parameters and buffers by PyTorch's names, and loading a dict into them all-or-nothing.

import { ErrorCode, describe, fail } from "../core/errors.js";
import { booleanOption, checkOptionsObject } from "../core/checks.js";
import { shapeText, sameShape, sizeOf } from "../core/shape.js";
import { Tensor } from "../core/tensor.js";
import type { Layer } from "./layer.js";

/**
 * A value a state dict may hold: a Tensor (of any runtime), or plain data with its shape, as
 * loadSafetensors returns it. `data` is float32, float64, an integer typed array (I64 as
 * BigInt64Array), an array of numbers, or the raw bits of F16 or BF16 in a Uint16Array with `dtype`.
 */
export type StateValue = Tensor | {
  shape: readonly number[];
  data: ArrayLike<number> | BigInt64Array | BigUint64Array;
  dtype?: string;
};

/** Options of loadStateDict(). */
export interface LoadStateDictOptions {
  /** Every key of the layer must be in the dict and every key of the dict in the layer (default true). */
  strict?: boolean;
}

/** What loadStateDict() skipped (always empty when strict). */
export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/** @internal A layer's state as [name, its own tensor] pairs: stateDict()'s, or for a layer of your own without one, its parameters. */
export function stateOf(layer: Layer): [string, Tensor][] {
  const own = (layer as { stateDict?: () => Record<string, Tensor> }).stateDict;
  return typeof own === "function" ? Object.entries(own.call(layer)) : layer.parameters().map((p) => [p.name, p.value]);
}

/** @internal The state of each child, its names prefixed ("3." + "weight"). */
export function prefixedState(children: readonly [string, Layer | null][]): [string, Tensor][] {
  return children.flatMap(([prefix, layer]) => (layer ? stateOf(layer).map(([name, t]): [string, Tensor] => [`${prefix}.${name}`, t]) : []));
}

/** @internal Float32 values of a value for `shape`, or why not. */
function valuesOf(value: unknown, shape: readonly number[]): Float32Array | string {
  if (value instanceof Tensor) {
    if (value.disposed) return "a disposed tensor";
    if (!sameShape(value.shape, shape)) return `shape ${shapeText(value.shape)}`;
    return value.toFloat32Array();
  }
  const v = value as { shape?: unknown; data?: unknown; dtype?: unknown } | null;
  if (typeof v !== "object" || v === null || !Array.isArray(v.shape)) return describe(value);
  if (!sameShape(v.shape, shape)) return `shape ${shapeText(v.shape as number[])}`;
  const data = toFloat32(v.data, typeof v.dtype === "string" ? v.dtype : undefined);
  if (typeof data === "string") return data;
  return data.length === sizeOf(shape) ? data : `${data.length} values for shape ${shapeText(shape)}`;
}

/** @internal Typed or plain numbers as float32: F16/BF16 bits (a Uint16Array with that dtype) decoded, I64 as numbers. */
export function toFloat32(data: unknown, dtype?: string): Float32Array | string {
  if (data instanceof Float32Array) return data;
  if (data instanceof Uint16Array && (dtype === "F16" || dtype === "BF16")) return dtype === "F16" ? fromHalf(data) : fromBfloat(data);
  if (Array.isArray(data)) return data.every((x) => typeof x === "number") ? Float32Array.from(data) : "an array that is not all numbers";
  // Number(): I64's bigints too.
  if (ArrayBuffer.isView(data) && !(data instanceof DataView)) return Float32Array.from(data as unknown as ArrayLike<number>, Number);
  return `data of ${describe(data)}`;
}

/** IEEE half-precision bits to float32. */
function fromHalf(bits: Uint16Array): Float32Array {
  return Float32Array.from(bits, (h) => {
    const exponent = (h >> 10) & 31;
    const fraction = h & 1023;
    const v = exponent === 31 ? (fraction ? NaN : Infinity) : exponent ? (1 + fraction / 1024) * 2 ** (exponent - 15) : fraction * 2 ** -24;
    return h & 0x8000 ? -v : v;
  });
}

/** bfloat16 bits (the top half of a float32) to float32. */
function fromBfloat(bits: Uint16Array): Float32Array {
  const words = Uint32Array.from(bits, (b) => b << 16);
  return new Float32Array(words.buffer);
}

/**
 * @internal Writes dict into the state's tensors, all or nothing: every value is checked and converted
 * first, and one ConvError (ERR_STATE_DICT) lists every missing, unexpected and ill-fitting key.
 */
export function loadState(state: [string, Tensor][], dict: unknown, options: unknown, where: string): LoadStateDictResult {
  if (typeof dict !== "object" || dict === null || Array.isArray(dict) || dict instanceof Tensor) {
    fail(ErrorCode.STATE_DICT, where, "dict", "an object of name → Tensor or { shape, data }", describe(dict));
  }
  const strict = booleanOption(checkOptionsObject(options as LoadStateDictOptions, ["strict"], where, "options").strict, true, where, "options.strict");
  const given = dict as Record<string, unknown>;
  const names = new Set(state.map(([name]) => name));
  const missingKeys = state.map(([name]) => name).filter((name) => !Object.hasOwn(given, name));
  const unexpectedKeys = Object.keys(given).filter((name) => !names.has(name));
  const problems: string[] = [];
  const values: [Tensor, Float32Array][] = [];
  for (const [name, t] of state) {
    if (!Object.hasOwn(given, name)) continue;
    if (t.disposed) fail(ErrorCode.DISPOSED, where, "this", "a layer whose tensors are alive", `"${name}" disposed`);
    const values32 = valuesOf(given[name], t.shape);
    if (typeof values32 === "string") problems.push(`"${name}" (expected shape ${shapeText(t.shape)}, received ${values32})`);
    else values.push([t, values32]);
  }
  if (strict) {
    if (missingKeys.length) problems.unshift(`missing ${missingKeys.map((k) => `"${k}"`).join(", ")}`);
    if (unexpectedKeys.length) problems.push(`unexpected ${unexpectedKeys.map((k) => `"${k}"`).join(", ")}`);
  }
  if (problems.length) fail(ErrorCode.STATE_DICT, where, "dict", `the ${state.length} keys and shapes of this model's stateDict()`, problems.join("; "));
  for (const [t, data] of values) t.write(data);
  return { missingKeys, unexpectedKeys };
}
