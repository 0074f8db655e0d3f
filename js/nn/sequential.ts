// Sequential: layers run in order (a ReLU then a MaxPool2x2 in one pass); backward in reverse; parameters, zeroGrad and dispose over all of them.

import { ErrorCode, describe, fail } from "../core/errors.js";
import { keep, runtimeOf, type Tensor } from "../core/tensor.js";
import { ReLU } from "./activations.js";
import { LayerBase, inLayer, type Layer, type Parameter } from "./layer.js";
import { MaxPool2x2 } from "./max-pool.js";
import { prefixedState } from "./state.js";

const LAYER_METHODS = ["forward", "backward", "parameters", "zeroGrad", "dispose"] as const;

/**
 * A chain of layers (nn.Sequential). It owns the activations between its layers: each forward() frees
 * the previous call's, so a training loop leaks nothing even without scope(). The input and the
 * returned output belong to the caller; the input must stay alive until backward(). An error inside
 * a layer names its index and the layer. A ReLU directly followed by a MaxPool2x2 (those classes
 * themselves, not subclasses) runs as one kernel each way, the pool's, with the same bits as the two
 * layers but without the ReLU's output: both keep the ReLU's input, so that their own backward()
 * after this forward() still works, the pool's then giving the gradient through both (already
 * masked by the ReLU, whose backward leaves it as it is).
 */
export class Sequential extends LayerBase {
  protected readonly kind = "Sequential";
  readonly layers: readonly Layer[];
  private activations: Tensor[] = [];
  /** fused[i]: layers[i] is a ReLU and layers[i + 1] a MaxPool2x2, run as one. */
  private readonly fused: readonly boolean[];

  constructor(layers: readonly Layer[]) {
    super();
    const where = "Sequential";
    if (!Array.isArray(layers) || layers.length === 0) fail(ErrorCode.INVALID_OPTION, where, "layers", "a non-empty array of layers", describe(layers));
    // Array.from: forEach skips holes, and [relu, , pool] must fail here, not in forward().
    Array.from(layers as unknown[]).forEach((layer: unknown, i: number) => {
      const missing = LAYER_METHODS.find((m) => typeof (layer as Record<string, unknown> | null)?.[m] !== "function");
      if (missing) fail(ErrorCode.INVALID_OPTION, where, `layers[${i}]`, `a layer (with ${LAYER_METHODS.join(", ")})`, `${describe(layer)} without ${missing}()`);
    });
    this.layers = Object.freeze([...layers]);
    this.fused = this.layers.map((layer, i) =>
      i + 1 < this.layers.length && Object.getPrototypeOf(layer) === ReLU.prototype && Object.getPrototypeOf(this.layers[i + 1]) === MaxPool2x2.prototype);
  }

  forward(x: Tensor): Tensor {
    this.freeActivations();
    let current = x;
    try {
      for (let i = 0; i < this.layers.length; i++) {
        const layer = this.layers[i]!, input = current;
        const next = this.fused[i] ? this.pairForward(i++, input) : inLayer("Sequential.forward", `layers[${i}]`, layer, () => layer.forward(input));
        // A layer may hand its input straight back (an identity); then it is still on its way out.
        if (!Object.is(current, x) && next !== current) this.activations.push(keep(current));
        current = next;
      }
    } catch (error) {
      // Object.is: an x of NaN is still the caller's (NaN !== NaN), not an activation to free.
      if (!Object.is(current, x)) current.dispose();
      this.freeActivations();
      throw error;
    }
    return current;
  }

  /**
   * Runs every layer's backward in reverse order, so each parameter's grad gains its dL/dθ, and returns
   * dL/dx (null with { inputGrad: false }: the first layer then skips its dx). The gradients between
   * layers are freed as soon as they are used; dy stays the caller's.
   */
  protected inputGradient(dy: Tensor, inputGrad: boolean): Tensor | null {
    let grad: Tensor | null = dy;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const incoming: Tensor = grad!;
      const layer = this.layers[i]!;
      // The pool of a fused pair: its gradient is the ReLU's too, so the ReLU's backward is skipped.
      const first = i > 0 && this.fused[i - 1] ? i - 1 : i;
      let outgoing: Tensor | null = null;
      try {
        outgoing = inLayer("Sequential.backward", `layers[${i}]`, layer, () => layer.backward(incoming, { inputGrad: first > 0 || inputGrad }));
      } finally {
        // Freed on success and on error alike, unless a layer handed it straight back.
        if (!Object.is(incoming, dy) && outgoing !== incoming) incoming.dispose();
      }
      grad = outgoing;
      i = first;
    }
    return grad;
  }

  /** maxPool2x2(relu(x)) for the pair at i, i + 1, by the pool; x is checked first as the ReLU would. */
  private pairForward(i: number, x: Tensor): Tensor {
    const relu = this.layers[i] as ReLU, pool = this.layers[i + 1] as MaxPool2x2;
    inLayer("Sequential.forward", `layers[${i}]`, relu, () => runtimeOf(x, "ReLU.forward", "x"));
    const y = inLayer("Sequential.forward", `layers[${i + 1}]`, pool, () => pool._forwardAfterRelu(x));
    relu._keepInput(x);
    return y;
  }

  /** Every layer gets the mode (those of your own that have train()). */
  protected override onModeChange(mode: boolean): void {
    for (const layer of this.layers) layer.train?.(mode);
  }

  /** Every layer's parameters, named "<layer index>.<name>" as PyTorch does ("0.weight"). */
  parameters(): Parameter[] {
    return this.layers.flatMap((layer, i) => layer.parameters().map((p) => ({ ...p, name: `${i}.${p.name}` })));
  }

  /** Every layer's state, named "<layer index>.<name>". */
  protected override namedState(): [string, Tensor][] {
    return prefixedState(this.layers.map((layer, i) => [String(i), layer]));
  }

  zeroGrad(): void {
    for (const layer of this.layers) layer.zeroGrad();
  }

  /** Frees the activations it holds and every layer's tensors. */
  dispose(): void {
    this.freeActivations();
    for (const layer of this.layers) layer.dispose();
  }

  private freeActivations(): void {
    for (const t of this.activations) t.dispose();
    this.activations = [];
  }
}
