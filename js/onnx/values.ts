// The values an imported ONNX graph passes between nodes (wasm tensors, and host arrays for initializers, shapes and constants) and the host-side ops on them: broadcasting arithmetic, concatenation, softmax, gather.

import { ErrorCode, fail } from "../core/errors.js";
import { shapeText } from "../core/shape.js";
import { Tensor, tensor } from "../core/tensor.js";
import type { Runtime } from "../core/runtime.js";
import { TensorProto_DataType, type TensorProto } from "./proto.js";

/** A constant or a shape computation: values held in JS, never in wasm memory (ints exact to 2⁵³). */
export interface HostValue {
  readonly host: true;
  readonly shape: readonly number[];
  readonly data: Float64Array;
  /** An integer tensor (INT64, INT32, BOOL) rather than a float one. */
  readonly int: boolean;
}

export type Value = Tensor | HostValue;

export function host(shape: readonly number[], data: ArrayLike<number>, int: boolean): HostValue {
  return { host: true, shape: [...shape], data: data instanceof Float64Array ? data : Float64Array.from(data), int };
}

export function isHost(v: Value | undefined): v is HostValue {
  return (v as HostValue | undefined)?.host === true;
}

/** A value's shape and its values as float64 (a tensor's are read out of wasm memory). */
export function valuesOf(v: Value): { shape: readonly number[]; data: Float64Array } {
  return isHost(v) ? v : { shape: v.shape, data: Float64Array.from(v.toFloat32Array()) };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The values of a TensorProto (an initializer or a Constant's value) on the host, its size checked against its data. */
export function tensorValue(t: TensorProto, where = "importOnnx"): HostValue {
  const shape = t.dims.map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) fail(ErrorCode.MODEL_FILE, where, `tensor "${t.name}"`, "dimensions of non-negative integers", JSON.stringify(shape));
  const count = shape.reduce((p, d) => p * d, 1);
  if (t.externalData.length > 0 || t.dataLocation === 1) {
    fail(ErrorCode.UNSUPPORTED, where, `tensor "${t.name}"`, "weights stored in the file (not as external data)", "external data");
  }
  const T = TensorProto_DataType;
  const raw = t.rawData;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const read = (size: number, get: (offset: number) => number, fields: ArrayLike<number | bigint>): Float64Array => {
    const n = raw.length > 0 ? raw.length / size : fields.length;
    if (n !== count) fail(ErrorCode.MODEL_FILE, where, `tensor "${t.name}"`, `${count} values for shape ${JSON.stringify(shape)}`, `${n}`);
    return raw.length > 0 ? Float64Array.from({ length: count }, (_, i) => get(i * size)) : Float64Array.from(fields, Number);
  };
  // Floats in raw_data (little-endian, as every writer stores them) are copied whole: a ResNet's weights are millions of values.
  const whole = <A extends Float32Array | Float64Array>(Kind: { new (n: number): A; BYTES_PER_ELEMENT: number }): Float64Array | null => {
    if (raw.length === 0 || !LITTLE_ENDIAN) return null;
    if (raw.length !== count * Kind.BYTES_PER_ELEMENT) fail(ErrorCode.MODEL_FILE, where, `tensor "${t.name}"`, `${count} values for shape ${JSON.stringify(shape)}`, `${raw.length / Kind.BYTES_PER_ELEMENT}`);
    const values = new Kind(count);
    new Uint8Array(values.buffer).set(raw);
    return values instanceof Float64Array ? values : Float64Array.from(values);
  };
  switch (t.dataType) {
    case T.FLOAT: return host(shape, whole(Float32Array) ?? read(4, (o) => view.getFloat32(o, true), t.floatData), false);
    case T.DOUBLE: return host(shape, whole(Float64Array) ?? read(8, (o) => view.getFloat64(o, true), t.doubleData), false);
    case T.INT64: return host(shape, read(8, (o) => Number(view.getBigInt64(o, true)), t.int64Data), true);
    case T.INT32: return host(shape, read(4, (o) => view.getInt32(o, true), t.int32Data), true);
    case T.BOOL: return host(shape, read(1, (o) => view.getUint8(o), t.int32Data), true);
    default:
      return fail(ErrorCode.UNSUPPORTED, where, `tensor "${t.name}"`, "a FLOAT, DOUBLE, INT64, INT32 or BOOL tensor", `data type ${T[t.dataType] ?? t.dataType}`);
  }
}

/** NumPy's broadcast of two shapes, or ERR_SHAPE_MISMATCH naming the node. */
export function broadcastShape(a: readonly number[], b: readonly number[], where: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) fail(ErrorCode.SHAPE_MISMATCH, where, "inputs", "shapes that broadcast", `${shapeText(a)} and ${shapeText(b)}`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** For each element of `out`, the index of the element of `shape` broadcast to it. */
export function broadcastIndex(shape: readonly number[], out: readonly number[]): Int32Array {
  const offset = out.length - shape.length;
  const strides = new Array<number>(out.length).fill(0);
  for (let i = shape.length - 1, s = 1; i >= 0; i--) {
    strides[i + offset] = shape[i] === 1 ? 0 : s;
    s *= shape[i]!;
  }
  return stridedIndex(out, strides);
}

/** For each element of `shape` in row-major order, offset + Σ its index on each axis · strides[axis]. */
export function stridedIndex(shape: readonly number[], strides: readonly number[], offset = 0): Int32Array {
  const size = shape.reduce((p, d) => p * d, 1);
  const index = new Int32Array(size);
  const counter = new Array<number>(shape.length).fill(0);
  let at = offset;
  for (let n = 0; n < size; n++) {
    index[n] = at;
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      counter[axis]!++;
      at += strides[axis]!;
      if (counter[axis]! < shape[axis]!) break;
      at -= strides[axis]! * counter[axis]!;
      counter[axis] = 0;
    }
  }
  return index;
}

/** Σ of `values` (laid out as `out`) into `shape`, the reverse of a broadcast: a gradient for a broadcast input. */
export function reduceTo(values: Float64Array, out: readonly number[], shape: readonly number[]): Float64Array {
  const index = broadcastIndex(shape, out);
  const sum = new Float64Array(shape.reduce((p, d) => p * d, 1));
  for (let n = 0; n < values.length; n++) sum[index[n]!]! += values[n]!;
  return sum;
}

/** A float32 tensor of these values in `runtime`, untracked by scope() (the graph frees it). */
export function toTensor(runtime: Runtime, shape: readonly number[], data: ArrayLike<number>): Tensor {
  return tensor(Float32Array.from(data), shape, runtime);
}

/** Concatenation along `axis` of values of one rank; the result on the host when every part is. */
export function concatData(parts: { shape: readonly number[]; data: Float64Array }[], axis: number, where: string): { shape: number[]; data: Float64Array } {
  const first = parts[0]!.shape;
  const rank = first.length;
  if (axis < -rank || axis >= rank) fail(ErrorCode.INVALID_OPTION, where, "axis", `an axis in [${-rank}, ${rank})`, String(axis));
  const a = axis < 0 ? axis + rank : axis;
  for (const p of parts) {
    if (p.shape.length !== rank || p.shape.some((d, i) => i !== a && d !== first[i])) {
      fail(ErrorCode.SHAPE_MISMATCH, where, "inputs", `shapes equal but on axis ${a} (the first is ${shapeText(first)})`, shapeText(p.shape));
    }
  }
  const outer = first.slice(0, a).reduce((x, d) => x * d, 1);
  const inner = first.slice(a + 1).reduce((x, d) => x * d, 1);
  const total = parts.reduce((s, p) => s + p.shape[a]!, 0);
  const data = new Float64Array(outer * total * inner);
  let offset = 0;
  for (const p of parts) {
    const chunk = p.shape[a]! * inner;
    for (let o = 0; o < outer; o++) data.set(p.data.subarray(o * chunk, (o + 1) * chunk), o * total * inner + offset);
    offset += chunk;
  }
  const shape = [...first];
  shape[a] = total;
  return { shape, data };
}

/** The part of a concatenation's `data` that came from the part with `size` along axis a, starting at `start`. */
export function sliceAxis(data: Float64Array, shape: readonly number[], a: number, start: number, size: number): Float64Array {
  const outer = shape.slice(0, a).reduce((x, d) => x * d, 1);
  const inner = shape.slice(a + 1).reduce((x, d) => x * d, 1);
  const out = new Float64Array(outer * size * inner);
  for (let o = 0; o < outer; o++) out.set(data.subarray((o * shape[a]! + start) * inner, (o * shape[a]! + start + size) * inner), o * size * inner);
  return out;
}

/** Softmax over `length` consecutive groups of `inner` stride (outer × length × inner), in float64. */
export function softmaxData(data: Float64Array, outer: number, length: number, inner: number): Float64Array {
  const y = new Float64Array(data.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * length * inner + i;
      let max = -Infinity;
      for (let k = 0; k < length; k++) max = Math.max(max, data[base + k * inner]!);
      let sum = 0;
      for (let k = 0; k < length; k++) sum += (y[base + k * inner] = Math.exp(data[base + k * inner]! - max));
      for (let k = 0; k < length; k++) y[base + k * inner]! /= sum;
    }
  }
  return y;
}

/** dL/dx of softmax given y and dy: y·(dy − Σ dy·y) per group. */
export function softmaxGradData(y: Float64Array, dy: Float64Array, outer: number, length: number, inner: number): Float64Array {
  const dx = new Float64Array(y.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * length * inner + i;
      let dot = 0;
      for (let k = 0; k < length; k++) dot += dy[base + k * inner]! * y[base + k * inner]!;
      for (let k = 0; k < length; k++) dx[base + k * inner] = y[base + k * inner]! * (dy[base + k * inner]! - dot);
    }
  }
  return dx;
}

/** NumPy's take along `axis` with integer indices (negative ones counted from the end). */
export function gatherData(v: { shape: readonly number[]; data: Float64Array }, indices: HostValue, axis: number, where: string): { shape: number[]; data: Float64Array } {
  const rank = v.shape.length;
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail(ErrorCode.INVALID_OPTION, where, "axis", `an axis in [${-rank}, ${rank})`, String(axis));
  const outer = v.shape.slice(0, a).reduce((x, d) => x * d, 1);
  const inner = v.shape.slice(a + 1).reduce((x, d) => x * d, 1);
  const n = v.shape[a]!;
  const picks = Array.from(indices.data, (i) => {
    const k = i < 0 ? i + n : i;
    if (!Number.isInteger(k) || k < 0 || k >= n) fail(ErrorCode.INVALID_OPTION, where, "indices", `integers in [${-n}, ${n})`, String(i));
    return k;
  });
  const data = new Float64Array(outer * picks.length * inner);
  for (let o = 0; o < outer; o++) {
    picks.forEach((k, j) => data.set(v.data.subarray((o * n + k) * inner, (o * n + k + 1) * inner), (o * picks.length + j) * inner));
  }
  return { shape: [...v.shape.slice(0, a), ...indices.shape, ...v.shape.slice(a + 1)], data };
}
