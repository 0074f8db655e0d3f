// Dropout: in training mode each element is kept with probability 1 − p and scaled by 1/(1 − p) (inverted dropout), from a seeded mask; in evaluation mode the identity.

import { ErrorCode, describe, fail } from "../core/errors.js";
import { integerOption, requireGradShape, requireOptionsObject } from "../core/checks.js";
import { sameShape } from "../core/shape.js";
import { allocateTensor, runKernel, runtimeOf, tensorAddress, type Tensor } from "../core/tensor.js";
import { LayerBase, cachedInput, type Parameter } from "./layer.js";

/**
 * The Dropout layer (nn.Dropout, inverted: y = x·m/(1 − p) with m ~ Bernoulli(1 − p)). The masks come
 * from `seed` and a count of the forward calls, so the same seed gives the same run, on every engine;
 * each element's draw is a hash of its index (assembly/activation/dropout.ts). In evaluation mode
 * forward and backward hand their argument straight back, as PyTorch's do.
 */
export class Dropout extends LayerBase {
  protected readonly kind = "Dropout";
  readonly p: number;
  readonly seed: number;
  private calls = 0;
  /** The last training forward's mask (1/(1 − p) or 0 per element), owned here; null before one. */
  private mask: Tensor | null = null;
  private input: Tensor | null = null;
  /** Whether the last forward() drew a mask (it ran in training mode); backward follows it, not the mode now. */
  private masked = false;

  constructor(options: { p?: number; seed?: number } = {}) {
    super();
    const where = "Dropout";
    const opts = requireOptionsObject(options, ["p", "seed"], where);
    const p = opts.p ?? 0.5;
    if (typeof p !== "number" || !(p >= 0 && p <= 1)) fail(ErrorCode.INVALID_OPTION, where, "options.p", "a probability in [0, 1]", describe(p));
    this.p = p;
    this.seed = integerOption(opts.seed, 0, where, "options.seed");
  }

  override get name(): string {
    return `Dropout(p = ${this.p})`;
  }

  /** In training: y = x·mask, a new mask each call; in evaluation: x itself. */
  forward(x: Tensor): Tensor {
    const where = "Dropout.forward";
    const runtime = runtimeOf(x, where, "x");
    const xAddress = tensorAddress(x, runtime, where, "x");
    if (!this.training) {
      this.input = x;
      this.masked = false;
      return x;
    }
    if (this.mask && (this.mask.runtime !== runtime || !sameShape(this.mask.shape, x.shape))) {
      this.mask.dispose();
      this.mask = null;
    }
    const mask = this.mask ?? allocateTensor(runtime, x.shape, where, false);
    this.mask = mask;
    const y = allocateTensor(runtime, x.shape, where);
    // The call count enters the seed through an odd multiplier, so that consecutive calls' masks differ.
    const seed = (Math.imul(this.seed, 0x27d4eb2f) + Math.imul(++this.calls, 0x165667b1)) >>> 0;
    runKernel([y], () => runtime.kernels.dropoutForward(xAddress, y._address, mask._address, x.size, this.p, seed));
    this.input = x;
    this.masked = true;
    return y;
  }

  protected inputGradient(dy: Tensor, inputGrad: boolean, where: string): Tensor | null {
    const x = cachedInput(this.input, where);
    const runtime = runtimeOf(dy, where, "dy");
    const dyAddress = tensorAddress(dy, runtime, where, "dy");
    requireGradShape(dy, x.shape, where);
    if (!inputGrad) return null;
    if (!this.masked) return dy;
    const mask = cachedInput(this.mask, where);
    const dx = allocateTensor(runtime, x.shape, where);
    runKernel([dx], () => runtime.kernels.dropoutBackward(mask._address, dyAddress, dx._address, x.size));
    return dx;
  }

  parameters(): Parameter[] {
    return [];
  }

  zeroGrad(): void {}

  /** Frees the mask (the cached input belongs to the caller). */
  dispose(): void {
    this.mask?.dispose();
    this.mask = null;
    this.input = null;
  }
}
