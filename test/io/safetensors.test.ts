// safetensors: files PyTorch's side wrote (every dtype) read to the values Python computed, round trips, and malformed or hostile files refused by name.

import { describe, it, expect, beforeAll } from "vitest";
import { readFileSync } from "node:fs";
import { init, tensor, loadSafetensors, saveSafetensors, ConvError, ErrorCode } from "../../js/index.js";

const FIXTURES = new URL("../fixtures/models/", import.meta.url);
const fixture = (name: string) => new Uint8Array(readFileSync(new URL(name, FIXTURES)));

/** A safetensors file with this header object and data bytes, the header not padded (as a hostile writer might). */
function file(header: unknown, data = new Uint8Array(0), headerLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function refused(bytes: Uint8Array, pattern: RegExp): void {
  let error: unknown;
  try {
    loadSafetensors(bytes);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConvError);
  expect((error as ConvError).code).toBe(ErrorCode.MODEL_FILE);
  expect((error as ConvError).message).toMatch(/^loadSafetensors/);
  expect((error as ConvError).message).toMatch(pattern);
}

beforeAll(async () => {
  await init({ simd: "fixed" });
});

describe("loadSafetensors on a file written in Python (test/fixtures/models/dtypes.safetensors)", () => {
  const expected = JSON.parse(readFileSync(new URL("dtypes.json", FIXTURES), "utf8")) as Record<string, { dtype: string; shape: number[]; values: (number | string)[]; exact?: string[] }>;
  const asNumber = (v: number | string) => (typeof v === "number" ? v : Number(v));

  it("reads every tensor's dtype and shape, integers exactly (I64 as bigint)", () => {
    const loaded = loadSafetensors(fixture("dtypes.safetensors"));
    expect(Object.keys(loaded).sort()).toEqual(Object.keys(expected).sort());
    for (const [name, want] of Object.entries(expected)) {
      expect(loaded[name]!.dtype, name).toBe(want.dtype);
      expect(loaded[name]!.shape, name).toEqual(want.shape);
      if (want.exact) expect(Array.from(loaded[name]!.data as ArrayLike<number | bigint>, String), name).toEqual(want.exact);
    }
    expect(loaded.i64!.data).toBeInstanceOf(BigInt64Array);
  });

  it("converts F16, BF16 and F64 to float32 on request, to the values Python decoded", () => {
    const loaded = loadSafetensors(fixture("dtypes.safetensors"), { toFloat32: true });
    for (const name of ["f16", "f16_special", "bf16", "f64", "f32", "scalar", "empty"]) {
      const want = Float32Array.from(expected[name]!.values.map(asNumber));
      expect(loaded[name]!.dtype, name).toBe("F32");
      expect(loaded[name]!.data, name).toBeInstanceOf(Float32Array);
      expect(Array.from(loaded[name]!.data as Float32Array).map((x) => Object.is(x, -0) ? "-0" : x), name)
        .toEqual(Array.from(want).map((x) => Object.is(x, -0) ? "-0" : x));
    }
  });

  it("reads a Node Buffer (whose slice() is a view into a shared pool) as it reads a Uint8Array", () => {
    const bytes = fixture("dtypes.safetensors");
    const pooled = Buffer.concat([Buffer.alloc(13, 0xab), Buffer.from(bytes)]).subarray(13);
    const a = loadSafetensors(bytes);
    const b = loadSafetensors(pooled);
    for (const [name, entry] of Object.entries(a)) expect(Array.from(b[name]!.data as ArrayLike<number | bigint>, String), name).toEqual(Array.from(entry.data as ArrayLike<number | bigint>, String));
  });

  it("writes back what it read: the same header entries and bytes of data", () => {
    const bytes = fixture("dtypes.safetensors");
    const loaded = loadSafetensors(bytes);
    const again = loadSafetensors(saveSafetensors(loaded));
    for (const [name, entry] of Object.entries(loaded)) {
      expect(again[name]!.dtype).toBe(entry.dtype);
      expect(again[name]!.shape).toEqual(entry.shape);
      expect(Array.from(again[name]!.data as ArrayLike<number | bigint>, String)).toEqual(Array.from(entry.data as ArrayLike<number | bigint>, String));
    }
  });
});

describe("saveSafetensors", () => {
  it("lays the file out as the format says: u64 header length, padded JSON, offsets tiling the data", () => {
    const bytes = saveSafetensors({ a: tensor([1, 2, 3], [3]), num_batches_tracked: tensor([7], []) }, { metadata: { format: "pt" } });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header.__metadata__).toEqual({ format: "pt" });
    expect(header.a).toEqual({ dtype: "F32", shape: [3], data_offsets: [0, 12] });
    expect(header.num_batches_tracked).toEqual({ dtype: "I64", shape: [], data_offsets: [12, 20] });
    expect(Array.from(new Float32Array(bytes.slice(8 + n, 8 + n + 12).buffer))).toEqual([1, 2, 3]);
    expect(new DataView(bytes.buffer).getBigInt64(8 + n + 12, true)).toBe(7n);
  });

  it("refuses what it cannot write, naming the entry", () => {
    expect(() => saveSafetensors({ w: { shape: [2], data: new Float32Array(3) } })).toThrow(/saveSafetensors.*"w"/);
    expect(() => saveSafetensors({ w: { shape: [2], data: new Float32Array(2), dtype: "F8_E4M3" } })).toThrow(/dtype/);
    expect(() => saveSafetensors(42 as never)).toThrow(ConvError);
    expect(() => saveSafetensors({}, { metadata: { a: 1 as never } })).toThrow(/metadata/);
  });
});

describe("loadSafetensors refuses malformed and hostile files with ERR_MODEL_FILE, allocating nothing large", () => {
  const f32 = (n: number) => new Uint8Array(n * 4);
  it("too short for a header length", () => refused(new Uint8Array(5), /8-byte header length/));
  it("a header length beyond the buffer", () => refused(file({}, new Uint8Array(0), 1000n), /header length/));
  it("a 2 GB header length", () => refused(file({}, new Uint8Array(16), 2n ** 31n), /2147483648/));
  it("a header length of 2⁶⁴ − 1", () => refused(file({}, new Uint8Array(16), 2n ** 64n - 1n), /header length/));
  it("a header that is not JSON", () => refused(file("{not json"), /JSON header/));
  it("a header that is not an object", () => refused(file("[1,2]"), /JSON object/));
  it("invalid UTF-8 in the header", () => refused(file(new TextDecoder("latin1").decode(new Uint8Array([0x7b, 0xff, 0x7d]))), /JSON header/));
  it("an unknown dtype", () => refused(file({ w: { dtype: "F8_E4M3", shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), /"w" of a dtype/));
  it("a dtype named like an object's property", () => refused(file({ w: { dtype: "constructor", shape: [1], data_offsets: [0, 4] } }, f32(1)), /dtype/));
  it("a negative or fractional dimension", () => refused(file({ w: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, f32(1)), /shape/));
  it("offsets past the data", () => refused(file({ w: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, f32(2)), /data_offsets/));
  it("offsets reversed", () => refused(file({ w: { dtype: "F32", shape: [0], data_offsets: [8, 0] } }, f32(2)), /data_offsets/));
  it("a byte count that is not the shape's", () => refused(file({ w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, f32(2)), /3 × 4 bytes/));
  it("a shape whose product overflows", () => refused(file({ w: { dtype: "F32", shape: [2 ** 40, 2 ** 40], data_offsets: [0, 8] } }, f32(2)), /bytes/));
  it("overlapping tensors", () => refused(file({
    a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
  }, f32(3)), /overlapping/));
  it("the same bytes named twice (a way to multiply what a small file allocates)", () => refused(file({
    a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
  }, f32(2)), /overlapping/));
  it("a gap between tensors", () => refused(file({
    a: { dtype: "F32", shape: [1], data_offsets: [0, 4] }, b: { dtype: "F32", shape: [1], data_offsets: [8, 12] },
  }, f32(3)), /gap/));
  it("data bytes no tensor covers", () => refused(file({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, f32(2)), /cover/));
  it("metadata that is not strings", () => refused(file({ __metadata__: { a: 1 } }), /__metadata__/));
  it("a truncated real file", () => {
    const bytes = fixture("lenet.safetensors");
    refused(bytes.subarray(0, bytes.length - 100), /cover|data_offsets/);
    refused(bytes.subarray(0, 40), /header length/);
  });

  it("a tensor named __proto__ is a key like any other", () => {
    const loaded = loadSafetensors(file('{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32(1)));
    expect(Object.keys(loaded)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(loaded)).toBe(Object.prototype);
  });
});
