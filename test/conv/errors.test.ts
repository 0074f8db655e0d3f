// The error catalogue: each bad input throws a typed ConvError naming the argument, and leaves nothing behind.

import { describe, it, expect, beforeAll } from "vitest";
import {
  init, createRuntime, tensor, zeros, conv2d, conv2dBackward, conv2dOutputShape, memoryUsage, ConvError, ErrorCode, Conv2d,
  type Runtime, type Tensor,
} from "../../js/index.js";
import { referenceConv2d, firstMismatch } from "../reference/conv2d.js";
import { randomData } from "../helpers/setup.js";

let runtime: Runtime;
let x: Tensor, w: Tensor, b: Tensor, dy: Tensor;
const xData = randomData(1, 2 * 4 * 6 * 6);
const wData = randomData(2, 6 * 2 * 3 * 3);
const bData = randomData(3, 6);
const dyData = randomData(4, 2 * 6 * 6 * 6);
const options = { pad: 1, groups: 2 };

beforeAll(async () => {
  runtime = await init();
  x = tensor(xData, [2, 4, 6, 6]);
  w = tensor(wData, [6, 2, 3, 3]);
  b = tensor(bData, [6]);
  dy = tensor(dyData, [2, 6, 6, 6]);
});

/** A valid forward and backward, checked against the reference: the module still works. */
function validCallStillCorrect(): void {
  const reference = referenceConv2d({
    N: 2, C: 4, H: 6, W: 6, F: 6, KH: 3, KW: 3, strideH: 1, strideW: 1,
    padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, dilationH: 1, dilationW: 1, groups: 2,
  }, xData, wData, bData, dyData);
  const out = conv2d(x, w, b, options);
  const grads = conv2dBackward(dy, x, w, options);
  expect(firstMismatch(out.toFloat32Array(), reference.out)).toBeNull();
  expect(firstMismatch(grads.dx!.toFloat32Array(), reference.dx)).toBeNull();
  expect(firstMismatch(grads.dw!.toFloat32Array(), reference.dw)).toBeNull();
  expect(firstMismatch(grads.db!.toFloat32Array(), reference.db)).toBeNull();
  for (const t of [out, grads.dx!, grads.dw!, grads.db!]) t.dispose();
}

/**
 * Runs a bad call and checks: a ConvError with the code and the argument, a message that says what
 * was expected and what came; no bytes leaked; an earlier result untouched; a valid call still right.
 */
function expectConvError(bad: () => unknown, code: string, argument?: string | RegExp): ConvError {
  const earlier = conv2d(x, w, b, options);
  const earlierData = earlier.toFloat32Array();
  const before = memoryUsage(runtime).bytesInUse;
  let caught: unknown;
  try {
    bad();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ConvError);
  const error = caught as ConvError;
  expect(error.code).toBe(code);
  expect(error.name).toBe("ConvError");
  if (argument instanceof RegExp) expect(error.argument).toMatch(argument);
  else if (argument !== undefined) expect(error.argument).toBe(argument);
  if (error.expected !== undefined) expect(error.message).toContain(error.expected);
  if (error.received !== undefined) expect(error.message).toContain(error.received);
  expect(memoryUsage(runtime).bytesInUse).toBe(before);
  expect(earlier.toFloat32Array()).toEqual(earlierData);
  earlier.dispose();
  validCallStillCorrect();
  return error;
}

describe("bad input", () => {
  it("wrong rank of x, w, b and dy", () => {
    const x3 = tensor(new Float32Array(4 * 6 * 6), [4, 6, 6]);
    const e = expectConvError(() => conv2d(x3, w, b, options), ErrorCode.RANK, "x");
    expect(e.message).toMatch(/rank-4/);
    expect(e.message).toMatch(/rank 3/);
    x3.dispose();
    const w2 = tensor(new Float32Array(6 * 18), [6, 18]);
    expectConvError(() => conv2d(x, w2, b, options), ErrorCode.RANK, "w");
    expectConvError(() => conv2dBackward(dy, x, w2, options), ErrorCode.RANK, "w");
    w2.dispose();
    const b2 = tensor(new Float32Array(6), [1, 6]);
    expectConvError(() => conv2d(x, w, b2, options), ErrorCode.BIAS, "b");
    b2.dispose();
  });

  it("data length different from the product of the shape", () => {
    const e = expectConvError(() => tensor([1, 2, 3], [2, 2]), ErrorCode.DATA_LENGTH, "data");
    expect(e.expected).toMatch(/4 values/);
    expect(e.received).toMatch(/3 values/);
    expectConvError(() => tensor(new Float32Array(5), [1, 1, 2, 2]), ErrorCode.DATA_LENGTH, "data");
  });

  it("data that is not numbers", () => {
    expectConvError(() => tensor("1234" as unknown as number[], [4]), ErrorCode.DATA_TYPE, "data");
    expectConvError(() => tensor([1, "2", 3, 4] as unknown as number[], [4]), ErrorCode.DATA_TYPE, "data[1]");
  });

  it("zero, negative, fractional and non-finite dimensions", () => {
    for (const bad of [0, -1, 1.5, Infinity, NaN]) {
      const e = expectConvError(() => zeros([1, bad, 2, 2]), ErrorCode.DIMENSION, "shape[1]");
      expect(e.expected).toBe("a positive integer");
    }
    expectConvError(() => tensor([], [0]), ErrorCode.DIMENSION, "shape[0]");
    expectConvError(() => tensor([1], 1 as unknown as number[]), ErrorCode.DIMENSION, "shape");
    expectConvError(() => conv2dOutputShape([1, 2, 0, 3], [1, 2, 1, 1]), ErrorCode.DIMENSION, "xShape[2]");
  });

  it("stride or dilation below 1 or fractional", () => {
    for (const stride of [0, -1, 1.5, NaN, [1, 0], [2], "2"]) {
      expectConvError(() => conv2d(x, w, b, { ...options, stride: stride as number }), ErrorCode.STRIDE, "options.stride");
    }
    for (const dilation of [0, 2.5, [1, -2], null]) {
      expectConvError(() => conv2d(x, w, b, { ...options, dilation: dilation as number }), ErrorCode.DILATION, "options.dilation");
    }
    expectConvError(() => conv2dBackward(dy, x, w, { ...options, stride: 0 }), ErrorCode.STRIDE, "options.stride");
  });

  it("negative, fractional or malformed pad, and an unknown pad string", () => {
    for (const pad of [-1, 0.5, [1, -1], [1, 1, 1], { top: -1 }, { top: 1, middle: 1 }, null, true]) {
      expectConvError(() => conv2d(x, w, b, { ...options, pad: pad as number }), ErrorCode.PAD, "options.pad");
    }
    const e = expectConvError(() => conv2d(x, w, b, { ...options, pad: "full" as "same" }), ErrorCode.PAD, "options.pad");
    expect(e.received).toBe('"full"');
  });

  it("kernel larger than the padded input", () => {
    const big = tensor(new Float32Array(6 * 2 * 9 * 3), [6, 2, 9, 3]);
    const e = expectConvError(() => conv2d(x, big, b, options), ErrorCode.KERNEL_TOO_LARGE, "w");
    expect(e.message).toMatch(/9×3/);
    // Dilation makes a 3×3 kernel span 9 pixels: too large for 6 + 2 padded rows.
    expectConvError(() => conv2d(x, w, b, { ...options, dilation: 4 }), ErrorCode.KERNEL_TOO_LARGE, "w");
    big.dispose();
  });

  it("groups not dividing C or F, or not a positive integer", () => {
    expectConvError(() => conv2d(x, w, b, { pad: 1, groups: 3 }), ErrorCode.GROUPS, "options.groups");
    const w4 = tensor(new Float32Array(5 * 2 * 9), [5, 2, 3, 3]);
    expectConvError(() => conv2d(x, w4, null, { pad: 1, groups: 2 }), ErrorCode.GROUPS, "options.groups");
    w4.dispose();
    for (const groups of [0, 1.5, "2"]) {
      expectConvError(() => conv2d(x, w, b, { pad: 1, groups: groups as number }), ErrorCode.GROUPS, "options.groups");
    }
  });

  it("weight channels different from C / groups", () => {
    const e = expectConvError(() => conv2d(x, w, b, { pad: 1, groups: 1 }), ErrorCode.CHANNELS, "w");
    expect(e.expected).toMatch(/= 4/);
    expect(e.received).toMatch(/= 2/);
  });

  it("bias length different from F", () => {
    const b5 = tensor(new Float32Array(5), [5]);
    const e = expectConvError(() => conv2d(x, w, b5, options), ErrorCode.BIAS, "b");
    expect(e.expected).toMatch(/\[6\]/);
    b5.dispose();
  });

  it("dy shape different from the output shape", () => {
    const small = tensor(new Float32Array(2 * 6 * 5 * 6), [2, 6, 5, 6]);
    const e = expectConvError(() => conv2dBackward(small, x, w, options), ErrorCode.GRAD_SHAPE, "dy");
    expect(e.expected).toMatch(/\[2, 6, 6, 6\]/);
    expect(e.received).toMatch(/\[2, 6, 5, 6\]/);
    small.dispose();
    // Right size, wrong stride: the output would be 3×3.
    expectConvError(() => conv2dBackward(dy, x, w, { ...options, stride: 2 }), ErrorCode.GRAD_SHAPE, "dy");
  });

  it("unknown option keys", () => {
    const e = expectConvError(() => conv2d(x, w, b, { ...options, strides: 2 } as never), ErrorCode.UNKNOWN_OPTION, "options.strides");
    expect(e.message).toMatch(/stride, pad, dilation, groups/);
    expectConvError(() => conv2dBackward(dy, x, w, options, { dX: false } as never), ErrorCode.UNKNOWN_OPTION, "which.dX");
    expectConvError(() => conv2dBackward(dy, x, w, options, { dx: "no" } as never), ErrorCode.INVALID_OPTION, "which.dx");
    expectConvError(() => conv2d(x, w, b, 3 as never), ErrorCode.INVALID_OPTION, "options");
    expectConvError(() => new Conv2d({ inChannels: 1, outChannels: 1, kernelSize: 3, padding: 1 } as never), ErrorCode.UNKNOWN_OPTION, "options.padding");
  });

  it("arguments that are not tensors", () => {
    expectConvError(() => conv2d([1, 2, 3] as never, w, b, options), ErrorCode.NOT_A_TENSOR, "x");
    expectConvError(() => conv2d(x, new Float32Array(9) as never, b, options), ErrorCode.NOT_A_TENSOR, "w");
    expectConvError(() => conv2d(x, w, "bias" as never, options), ErrorCode.NOT_A_TENSOR, "b");
    expectConvError(() => conv2dBackward({ shape: [2, 6, 6, 6] } as never, x, w, options), ErrorCode.NOT_A_TENSOR, "dy");
  });

  it("a disposed tensor", () => {
    const gone = tensor(xData, [2, 4, 6, 6]);
    gone.dispose();
    expectConvError(() => conv2d(gone, w, b, options), ErrorCode.DISPOSED, "x");
    expectConvError(() => gone.toFloat32Array(), ErrorCode.DISPOSED, "this");
  });

  it("tensors from two different runtimes, named in the error", async () => {
    const other = await createRuntime();
    const foreign = tensor(wData, [6, 2, 3, 3], other);
    const e = expectConvError(() => conv2d(x, foreign, b, options), ErrorCode.FOREIGN_TENSOR, "w");
    expect(e.message).toContain(runtime.label);
    expect(e.message).toContain(other.label);
    expect(e.message).toMatch(/createRuntime\(\)/);
    expectConvError(() => conv2dBackward(dy, x, foreign, options), ErrorCode.FOREIGN_TENSOR, "w");
    foreign.dispose();
  });

  it("a request beyond the 4 GiB wasm limit, after which the module still works", () => {
    // 2^31 floats = 8 GiB.
    const e = expectConvError(() => zeros([2048, 1024, 1024], runtime), ErrorCode.OUT_OF_MEMORY, "shape");
    expect(e.message).toMatch(/4 GiB/);
    // Exactly 4 GiB: refused too, since the module's own data sits below the heap.
    expectConvError(() => zeros([1024, 1024, 1024], runtime), ErrorCode.OUT_OF_MEMORY, "memory");
    // An output just over 4 GiB: 2 × 6 × 10,004² floats.
    expectConvError(() => conv2d(x, w, b, { ...options, pad: 5000 }), ErrorCode.OUT_OF_MEMORY, "shape");
    // Products that overflow 32 bits (the output alone is 170 GB) are refused, never wrapped around.
    expectConvError(() => conv2d(x, w, b, { ...options, pad: 30000 }), ErrorCode.OUT_OF_MEMORY, "shape");
    expectConvError(() => conv2dBackward(dy, x, w, { ...options, pad: 30000 }), ErrorCode.GRAD_SHAPE, "dy");
    expect(memoryUsage(runtime).wasmMemoryBytes).toBeLessThan(2 ** 30);
  });

  it("out-of-memory errors name the function that needed the memory", () => {
    expect(expectConvError(() => zeros([2048, 1024, 1024], runtime), ErrorCode.OUT_OF_MEMORY, "shape").message).toMatch(/^zeros: shape: /);
    expect(expectConvError(() => conv2d(x, w, b, { ...options, pad: 5000 }), ErrorCode.OUT_OF_MEMORY, "shape").message).toMatch(/^conv2d: shape: /);
    const layer = new Conv2d({ inChannels: 4, outChannels: 6, kernelSize: 3, groups: 2, pad: 5000, runtime });
    expect(expectConvError(() => layer.forward(x), ErrorCode.OUT_OF_MEMORY, "shape").message).toMatch(/^Conv2d\.forward: shape: /);
    layer.dispose();
  });

  it("a weight with the wrong channels, where x looks NHWC, says so", () => {
    const nhwc = tensor(new Float32Array(2 * 6 * 6 * 4), [2, 6, 6, 4]);
    const plain = tensor(new Float32Array(6 * 4 * 3 * 3), [6, 4, 3, 3]);
    const channels = expectConvError(() => conv2d(nhwc, plain, b), ErrorCode.CHANNELS, "w");
    expect(channels.message).toMatch(/last axis is 4: is it NHWC\? conv2d takes NCHW/);
    for (const t of [nhwc, plain]) t.dispose();
  });
});
