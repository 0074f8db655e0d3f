// What Conv2d and Linear share: a weight and an optional bias with their gradient accumulators, initialised as PyTorch does for ReLU networks.

import type { Random } from "../core/random.js";
import type { Runtime } from "../core/runtime.js";
import { fail, ErrorCode } from "../core/errors.js";
import { sizeOf, shapeText } from "../core/shape.js";
import { Tensor, allocateTensor, runtimeOf } from "../core/tensor.js";
import { LayerBase, type Parameter } from "./layer.js";

/**
 * A layer with a weight and an optional bias, their gradient accumulators and the input forward()
 * kept. Weights are Kaiming-uniform for ReLU networks, U(±√(6 / fanIn)), the bias U(±1 / √fanIn) as
 * in PyTorch; drawn weight first, then bias, from `random`.
 */
export abstract class WeightedLayer extends LayerBase {
  readonly runtime: Runtime;
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  /** Σ of dL/dw over backward() calls since the last zeroGrad(). */
  readonly weightGrad: Tensor;
  readonly biasGrad: Tensor | null;
  protected input: Tensor | null = null;

  /** The bias has `outputs` elements: the weight's first dimension, but for a transposed convolution's (C_out). */
  constructor(
    runtime: Runtime, weightShape: readonly number[], fanIn: number, withBias: boolean, random: Random, where: string,
    outputs = weightShape[0]!,
  ) {
    super();
    this.runtime = runtime;
    const weightBound = Math.sqrt(6 / fanIn);
    const biasBound = 1 / Math.sqrt(fanIn);
    const size = sizeOf(weightShape);
    const tensors = buildOrFree((made) => ({
      weight: ownedTensor(runtime, weightShape, () => random.uniformArray(size, -weightBound, weightBound), made, where),
      weightGrad: ownedTensor(runtime, weightShape, null, made, where),
      bias: withBias ? ownedTensor(runtime, [outputs], () => random.uniformArray(outputs, -biasBound, biasBound), made, where) : null,
      biasGrad: withBias ? ownedTensor(runtime, [outputs], null, made, where) : null,
    }));
    this.weight = tensors.weight;
    this.weightGrad = tensors.weightGrad;
    this.bias = tensors.bias;
    this.biasGrad = tensors.biasGrad;
  }

  /** Sets weightGrad and biasGrad to zero. */
  zeroGrad(): void {
    this.weightGrad.write(new Float32Array(this.weightGrad.size));
    this.biasGrad?.write(new Float32Array(this.biasGrad.size));
  }

  /** The learnable tensors with their gradients: weight, then bias if any. */
  parameters(): Parameter[] {
    const list: Parameter[] = [{ name: "weight", value: this.weight, grad: this.weightGrad }];
    if (this.bias && this.biasGrad) list.push({ name: "bias", value: this.bias, grad: this.biasGrad });
    return list;
  }

  /** Frees the layer's tensors (not the cached input, which belongs to the caller). */
  dispose(): void {
    for (const t of [this.weight, this.weightGrad, this.bias, this.biasGrad]) t?.dispose();
    this.input = null;
  }

  /**
   * The input x given to forward(), checked before the layer's own op sees it: a live tensor of this
   * layer's runtime with `rank` dimensions laid out as `layout`, and `expectedAt` at each axis it
   * names (what the layer was built for). A mismatch names the layer, what it was built for and
   * what came; `hint` may add a likely cause.
   */
  protected checkInput(
    x: unknown, where: string, rank: number, layout: string, expectedAt: Record<number, number>, builtFor: string,
    hint?: (shape: readonly number[]) => string,
  ): Tensor {
    const own = runtimeOf(x, where, "x");
    if (own !== this.runtime) {
      fail(ErrorCode.FOREIGN_TENSOR, where, "x", `a tensor of ${this.runtime.label}, which this ${this.name} was built in`,
        `one of ${own.label} (each init() with other options, and each createRuntime(), makes a new runtime: ` +
        "build the layer after it, or pass it as options.runtime)");
    }
    const shape = (x as Tensor).shape;
    const fits = shape.length === rank && Object.entries(expectedAt).every(([axis, size]) => shape[Number(axis)] === size);
    if (!fits) {
      const code = shape.length === rank ? ErrorCode.CHANNELS : ErrorCode.RANK;
      const extra = hint?.(shape) ?? "";
      fail(code, where, "x", `${layout} (this ${this.name} was built for ${builtFor})`, `shape ${shapeText(shape)}${extra}`);
    }
    return x as Tensor;
  }
}

/**
 * @internal A tensor owned by a layer or optimiser (not tracked by scope()), holding data() or zeros.
 * It joins `made`, so a constructor that fails halfway can free what it had made. The data is made
 * only once the tensor exists: a shape too large for wasm memory fails as ERR_OUT_OF_MEMORY before
 * gigabytes of initial values are drawn in JS (or a RangeError from a typed array too long).
 */
export function ownedTensor(
  runtime: Runtime, shape: readonly number[], data: (() => Float32Array) | null, made: Tensor[], where: string,
): Tensor {
  const t = allocateTensor(runtime, shape, where, false);
  made.push(t);
  return t.write(data ? data() : new Float32Array(t.size));
}

/** @internal Runs build(made); if it throws, disposes everything it had made first. */
export function buildOrFree<T>(build: (made: Tensor[]) => T): T {
  const made: Tensor[] = [];
  try {
    return build(made);
  } catch (error) {
    for (const t of made) t.dispose();
    throw error;
  }
}
