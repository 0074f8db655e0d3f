// safetensors files: a model's or a dict's tensors written as the format specifies, and a file read back with every offset checked first.

import { ErrorCode, describe, fail } from "../core/errors.js";
import { booleanOption, checkOptionsObject } from "../core/checks.js";
import { Tensor } from "../core/tensor.js";
import type { Layer } from "../nn/layer.js";
import { stateOf, toFloat32, type StateValue } from "../nn/state.js";

/** A tensor read from a safetensors file: its dtype as the file names it ("F32", "I64", …), shape and data. */
export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  /** F32: Float32Array; F64: Float64Array; F16 and BF16: their bits, Uint16Array; I64: BigInt64Array; I32, I16, I8, U8, U16, U32, U64, BOOL: the typed array of that kind. */
  data: Float32Array | Float64Array | Uint16Array | BigInt64Array | BigUint64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint32Array;
}

export interface SaveSafetensorsOptions {
  /** The header's "__metadata__": string keys to string values. */
  metadata?: Record<string, string>;
}

export interface LoadSafetensorsOptions {
  /** Convert F16, BF16 and F64 to float32 (their dtype becomes "F32"); integers stay as they are (default false). */
  toFloat32?: boolean;
}

type Typed = SafetensorsEntry["data"];
type TypedClass = { new (buffer: ArrayBuffer, offset: number, length: number): Typed; BYTES_PER_ELEMENT: number };

/** Each dtype the format names that this library reads and writes, with its typed array. */
const DTYPES: Record<string, TypedClass> = {
  F64: Float64Array, F32: Float32Array, F16: Uint16Array, BF16: Uint16Array, I64: BigInt64Array, I32: Int32Array,
  I16: Int16Array, I8: Int8Array, U64: BigUint64Array, U32: Uint32Array, U16: Uint16Array, U8: Uint8Array, BOOL: Uint8Array,
};

/** The reference implementation's bound on the JSON header: a larger one is refused before it is read. */
const MAX_HEADER_BYTES = 100_000_000;

const SAVE = "saveSafetensors";
const LOAD = "loadSafetensors";

/**
 * A model's state dict (or a dict of name → Tensor or { shape, data, dtype? }) as the bytes of a
 * safetensors file. Tensors are written as F32, but a "num_batches_tracked" as I64, as PyTorch keeps
 * it (so torch's load_state_dict(strict=True) takes the file); plain data keeps its own type.
 */
export function saveSafetensors(source: Layer | Record<string, StateValue>, options: SaveSafetensorsOptions = {}): Uint8Array {
  if (typeof source !== "object" || source === null || Array.isArray(source) || source instanceof Tensor) {
    fail(ErrorCode.INVALID_OPTION, SAVE, "source", "a layer or an object of name → tensor", describe(source));
  }
  const entries: [string, unknown][] = typeof (source as Layer).parameters === "function" ? stateOf(source as Layer) : Object.entries(source);
  const metadata = checkOptionsObject(options, ["metadata"], SAVE, "options").metadata;
  if (metadata !== undefined && (typeof metadata !== "object" || metadata === null || Object.values(metadata).some((v) => typeof v !== "string"))) {
    fail(ErrorCode.INVALID_OPTION, SAVE, "options.metadata", "an object of string values", describe(metadata));
  }
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, value] of entries) {
    if (name === "__metadata__") fail(ErrorCode.INVALID_OPTION, SAVE, "source", "tensor names other than __metadata__", `"${name}"`);
    const { dtype, shape, bytes } = encodeValue(name, value);
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  // The header padded with spaces to a multiple of 8 bytes, as the reference writer does.
  const json = new TextEncoder().encode(JSON.stringify(header));
  const head = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(0x20);
  head.set(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One value's dtype, shape and little-endian bytes. */
function encodeValue(name: string, value: unknown): { dtype: string; shape: number[]; bytes: Uint8Array } {
  const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
  if (value instanceof Tensor) {
    if (value.disposed) fail(ErrorCode.DISPOSED, SAVE, `source["${name}"]`, "a live tensor", "a disposed one");
    const data = value.toFloat32Array();
    const counter = name === "num_batches_tracked" || name.endsWith(".num_batches_tracked");
    return { dtype: counter ? "I64" : "F32", shape: [...value.shape], bytes: bytesOf(counter ? BigInt64Array.from(data, (x) => BigInt(Math.round(x))) : data) };
  }
  const v = value as { shape?: unknown; data?: unknown; dtype?: unknown } | null;
  const shape = v?.shape;
  if (typeof v !== "object" || v === null || !Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(ErrorCode.INVALID_OPTION, SAVE, `source["${name}"]`, "a Tensor or { shape, data }", describe(value));
  }
  const count = shape.reduce((a: number, d: number) => a * d, 1);
  const data = v.data;
  const dtype = typeof v.dtype === "string" ? v.dtype : Array.isArray(data) ? "F32" : Object.keys(DTYPES).find((k) => data instanceof DTYPES[k]!);
  const kind = dtype === undefined ? undefined : DTYPES[dtype];
  if (!kind) fail(ErrorCode.INVALID_OPTION, SAVE, `source["${name}"].dtype`, `one of ${Object.keys(DTYPES).join(", ")}`, describe(dtype ?? data));
  const typed = Array.isArray(data) ? toFloat32(data) : data;
  if (!(typed instanceof kind) || (typed as Typed).length !== count) {
    fail(ErrorCode.DATA_LENGTH, SAVE, `source["${name}"].data`, `a ${kind.name} of ${count} values for ${dtype} shape [${shape.join(", ")}]`, describe(data));
  }
  return { dtype: dtype!, shape: [...shape], bytes: bytesOf(typed as Typed) };
}

/**
 * The tensors of a safetensors file, by name. The header is checked before any tensor is read: its
 * length within the file (and at most 100 MB), valid JSON, known dtypes, shapes of non-negative
 * integers, offsets in range, of the dtype's size and tiling the data without overlap or gap. Any
 * problem is one ERR_MODEL_FILE naming it. The data is copied, so `bytes` may be reused.
 */
export function loadSafetensors(bytes: Uint8Array | ArrayBuffer, options: LoadSafetensorsOptions = {}): Record<string, SafetensorsEntry> {
  const file = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes;
  if (!(file instanceof Uint8Array)) fail(ErrorCode.INVALID_OPTION, LOAD, "bytes", "a Uint8Array or ArrayBuffer", describe(bytes));
  const toF32 = booleanOption(checkOptionsObject(options, ["toFloat32"], LOAD, "options").toFloat32, false, LOAD, "options.toFloat32");
  const bad = (expected: string, received: string): never => fail(ErrorCode.MODEL_FILE, LOAD, "bytes", expected, received);
  if (file.length < 8) bad("a safetensors file (an 8-byte header length first)", `${file.length} bytes`);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, file.length - 8))) {
    bad(`a header length within the file's ${file.length - 8} bytes after it (and at most ${MAX_HEADER_BYTES})`, `${headerLength}`);
  }
  const start = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(file.subarray(8, start)));
  } catch (error) {
    bad("a JSON header", `${(error as Error).message}`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) bad("a JSON object header", describe(header));
  const dataLength = file.length - start;
  const spans: [number, number, string][] = [];
  const checked: [string, string, number[], number, number, TypedClass][] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof info !== "object" || info === null || Object.values(info).some((v) => typeof v !== "string")) bad("__metadata__ of string values", describe(info));
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = (info ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== "string" || !Object.hasOwn(DTYPES, dtype)) bad(`"${name}" of a dtype among ${Object.keys(DTYPES).join(", ")}`, describe(dtype));
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) bad(`"${name}" with a shape of non-negative integers`, describe(shape));
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1] || offsets[1] > dataLength) {
      bad(`"${name}" with data_offsets [begin, end] within the ${dataLength} data bytes`, JSON.stringify(offsets));
    }
    const kind = DTYPES[dtype as string]!;
    const [begin, end] = offsets as [number, number];
    let count = 1;
    for (const d of shape as number[]) count = Math.min(count * d, Number.MAX_SAFE_INTEGER);
    if (count * kind.BYTES_PER_ELEMENT !== end - begin) bad(`"${name}" of ${count} × ${kind.BYTES_PER_ELEMENT} bytes for ${dtype} [${(shape as number[]).join(", ")}]`, `${end - begin} bytes`);
    spans.push([begin, end, name]);
    checked.push([name, dtype as string, shape as number[], begin, count, kind]);
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let covered = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== covered) bad(`tensors that tile the data bytes in order`, begin < covered ? `"${name}" overlapping the one before it at byte ${begin}` : `a gap before "${name}" at byte ${covered}`);
    covered = end;
  }
  if (covered !== dataLength) bad(`tensors that cover all ${dataLength} data bytes`, `${dataLength - covered} bytes after the last`);
  // Only now, every span known to be in range and disjoint, is anything copied.
  const out: Record<string, SafetensorsEntry> = {};
  for (const [name, dtype, shape, begin, count, kind] of checked) {
    // A copy of its own (aligned for the typed array); not file.slice(), which a Node Buffer makes a view.
    const copy = new Uint8Array(count * kind.BYTES_PER_ELEMENT);
    copy.set(file.subarray(start + begin, start + begin + copy.length));
    let data: Typed = new kind(copy.buffer, 0, count);
    let type = dtype;
    if (toF32 && (type === "F16" || type === "BF16" || type === "F64")) {
      data = toFloat32(data, type) as Float32Array;
      type = "F32";
    }
    // defineProperty: a tensor named "__proto__" is a key like any other, not the object's prototype.
    Object.defineProperty(out, name, { value: { dtype: type, shape: [...shape], data }, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
