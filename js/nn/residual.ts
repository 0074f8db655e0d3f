// Residual: y = main(x) + (shortcut ? shortcut(x) : x), backward summing both paths' dx; the ResNet block's skip connection.

import { ErrorCode, describe, fail } from "../core/errors.js";
import { shapeText, sameShape } from "../core/shape.js";
import { allocateTensor, runKernel, runtimeOf, tensorAddress, type Tensor } from "../core/tensor.js";
import { LayerBase, inLayer, type Layer, type Parameter } from "./layer.js";
import { prefixedState } from "./state.js";

const LAYER_METHODS = ["forward", "backward", "parameters", "zeroGrad", "dispose"] as const;

/**
 * A residual connection (He et al.): y = main(x) + shortcut(x), the shortcut the identity when none is
 * given. A ResNet basic block is new Sequential([new Residual(new Sequential([conv, bn, relu, conv, bn]),
 * downsample?), new ReLU()]). The two paths' outputs are freed once summed (no layer's backward needs
 * its own output); their parameters are named "main.<name>" and "shortcut.<name>", as a PyTorch
 * module with attributes main and shortcut names them in its state dict.
 */
export class Residual extends LayerBase {
  protected readonly kind = "Residual";
  readonly main: Layer;
  readonly shortcut: Layer | null;

  constructor(main: Layer, shortcut?: Layer | null) {
    super();
    const where = "Residual";
    for (const [layer, argument] of [[main, "main"], [shortcut ?? null, "shortcut"]] as const) {
      if (layer === null && argument === "shortcut") continue;
      const missing = LAYER_METHODS.find((m) => typeof (layer as Record<string, unknown> | null)?.[m] !== "function");
      if (missing) fail(ErrorCode.INVALID_OPTION, where, argument, `a layer (with ${LAYER_METHODS.join(", ")})`, `${describe(layer)} without ${missing}()`);
    }
    this.main = main;
    this.shortcut = shortcut ?? null;
  }

  forward(x: Tensor): Tensor {
    const where = "Residual.forward";
    const runtime = runtimeOf(x, where, "x");
    const main = inLayer(where, "main", this.main, () => this.main.forward(x));
    let other: Tensor = x;
    try {
      if (this.shortcut) other = inLayer(where, "shortcut", this.shortcut, () => this.shortcut!.forward(x));
      return sum(runtime, main, other, where, "the shortcut's output", "the main path's");
    } finally {
      if (main !== x) main.dispose();
      if (other !== x) other.dispose();
    }
  }

  protected inputGradient(dy: Tensor, inputGrad: boolean, where: string): Tensor | null {
    const runtime = runtimeOf(dy, where, "dy");
    tensorAddress(dy, runtime, where, "dy");
    const main = inLayer(where, "main", this.main, () => this.main.backward(dy, { inputGrad }));
    let other: Tensor | null = inputGrad ? dy : null;
    try {
      if (this.shortcut) other = inLayer(where, "shortcut", this.shortcut, () => this.shortcut!.backward(dy, { inputGrad }));
      if (!inputGrad) return null;
      return sum(runtime, main!, other!, where, "the shortcut's dx", "the main path's");
    } finally {
      if (main && main !== dy) main.dispose();
      if (other && other !== dy) other.dispose();
    }
  }

  /** The main path's parameters, then the shortcut's, named "main.…" and "shortcut.…". */
  parameters(): Parameter[] {
    const named = (layer: Layer | null, prefix: string) => layer?.parameters().map((p) => ({ ...p, name: `${prefix}.${p.name}` })) ?? [];
    return [...named(this.main, "main"), ...named(this.shortcut, "shortcut")];
  }

  protected override namedState(): [string, Tensor][] {
    return prefixedState([["main", this.main], ["shortcut", this.shortcut]]);
  }

  zeroGrad(): void {
    this.main.zeroGrad();
    this.shortcut?.zeroGrad();
  }

  protected override onModeChange(mode: boolean): void {
    this.main.train?.(mode);
    this.shortcut?.train?.(mode);
  }

  dispose(): void {
    this.main.dispose();
    this.shortcut?.dispose();
  }
}

/** @internal a + b, a new tensor; ERR_SHAPE_MISMATCH (naming both) unless they have one shape. */
export function sum(runtime: Parameters<typeof allocateTensor>[0], a: Tensor, b: Tensor, where: string, argument: string, against: string): Tensor {
  const aAddress = tensorAddress(a, runtime, where, "the main path's output");
  const bAddress = tensorAddress(b, runtime, where, argument);
  if (!sameShape(a.shape, b.shape)) {
    fail(ErrorCode.SHAPE_MISMATCH, where, argument, `${against} shape ${shapeText(a.shape)}`, `shape ${shapeText(b.shape)}`);
  }
  const y = allocateTensor(runtime, a.shape, where);
  runKernel([y], () => runtime.kernels.addTensors(aAddress, bAddress, y._address, a.size));
  return y;
}
