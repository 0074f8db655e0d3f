// What every layer is (forward, backward, parameters, zeroGrad, dispose), the base every layer extends, and the base of those without parameters.

import { ConvError, ErrorCode, describe, fail } from "../core/errors.js";
import { booleanOption, checkOptionsObject } from "../core/checks.js";
import type { Tensor } from "../core/tensor.js";
import { loadState, type LoadStateDictOptions, type LoadStateDictResult, type StateValue } from "./state.js";

/** A learnable tensor and its gradient, as an optimiser sees them. */
export interface Parameter {
  name: string;
  value: Tensor;
  grad: Tensor;
}

/** Options of a layer's backward(). */
export interface BackwardOptions {
  /** Compute and return dL/dx (default true); a network's first layer needs none. */
  inputGrad?: boolean;
}

/**
 * A layer: forward(x) keeps what backward needs (x itself, not a copy: do not dispose it before
 * backward); backward(dy) adds its parameters' gradients into their grad tensors and returns dL/dx,
 * or null with { inputGrad: false } (the overloads type it so). Conv2d, Linear, ReLU, MaxPool2x2,
 * Flatten and Sequential all are one.
 */
export interface Layer {
  forward(x: Tensor): Tensor;
  backward(dy: Tensor, options?: BackwardOptions): Tensor | null;
  parameters(): Parameter[];
  zeroGrad(): void;
  dispose(): void;
  /**
   * Training mode (the default) or evaluation mode (train(false), or eval()), as nn.Module's: Dropout
   * drops only in training, BatchNorm2d normalises with the batch's statistics in training and with its
   * running ones in evaluation. Containers pass the mode down. A layer of your own may leave these out.
   */
  train?(mode?: boolean): unknown;
  /** Parameters and buffers by PyTorch's names (a layer of your own without it is saved by its parameters). */
  stateDict?(): Record<string, Tensor>;
  loadStateDict?(dict: Record<string, StateValue>, options?: LoadStateDictOptions): LoadStateDictResult;
  eval?(): unknown;
  readonly training?: boolean;
}

/**
 * The base of every layer here: backward()'s options are checked once, and errors from inside a
 * layer name it. A subclass says what it is (`name`) and computes its input gradient in inputGradient.
 */
export abstract class LayerBase implements Layer {
  /** The layer's class, as errors name it ("Conv2d"; a literal, so that minified code keeps it). */
  protected abstract readonly kind: string;

  /** How errors name this layer: its class and what it was built for, as "Conv2d(1 → 8, 5×5)". */
  get name(): string {
    return this.kind;
  }

  private mode = true;

  /** Whether the layer is in training mode (true from construction), as nn.Module.training. */
  get training(): boolean {
    return this.mode;
  }

  /** Training mode (true, the default) or evaluation mode (false); returns the layer, as nn.Module.train does. */
  train(mode = true): this {
    if (typeof mode !== "boolean") fail(ErrorCode.INVALID_OPTION, `${this.kind}.train`, "mode", "true or false", describe(mode));
    this.mode = mode;
    this.onModeChange(mode);
    return this;
  }

  /** Evaluation mode: train(false). */
  eval(): this {
    return this.train(false);
  }

  /** What a container does when its mode changes: pass it to its layers. */
  protected onModeChange(_mode: boolean): void {}

  /**
   * The parameters and buffers (batch norm's running statistics) by PyTorch's state-dict names
   * ("0.weight", "3.main.1.running_var"): the layer's own tensors, not copies, so do not dispose them.
   */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.namedState());
  }

  /**
   * Overwrites the parameters and buffers with dict's values (Tensors, or { shape, data } as
   * loadSafetensors gives them). All or nothing: one ERR_STATE_DICT lists every missing, unexpected
   * (when strict, the default) or wrongly shaped key, and then nothing has been written.
   */
  loadStateDict(dict: Record<string, StateValue>, options?: LoadStateDictOptions): LoadStateDictResult {
    return loadState(this.namedState(), dict, options, `${this.kind}.loadStateDict`);
  }

  /** stateDict()'s entries in order: the parameters, then any buffers. */
  protected namedState(): [string, Tensor][] {
    return this.parameters().map((p) => [p.name, p.value]);
  }

  abstract forward(x: Tensor): Tensor;
  abstract parameters(): Parameter[];
  abstract zeroGrad(): void;
  abstract dispose(): void;

  /**
   * dL/dx for the last forward() input (null where inputGrad is false), having added dL/dθ into the
   * gradient of each parameter θ. `where` is what errors start with ("ReLU.backward").
   */
  protected abstract inputGradient(dy: Tensor, inputGrad: boolean, where: string): Tensor | null;

  /**
   * dL/dx for the last forward() input, having added dL/dθ into each parameter's grad; null with
   * { inputGrad: false }. Typed Tensor when inputGrad is not false.
   */
  backward(dy: Tensor, options?: { inputGrad?: true }): Tensor;
  backward(dy: Tensor, options?: BackwardOptions): Tensor | null;
  backward(dy: Tensor, options?: BackwardOptions): Tensor | null {
    const where = `${this.kind}.backward`;
    return this.inputGradient(dy, wantsInputGrad(options, where), where);
  }
}

/**
 * A layer without parameters that keeps its forward input for backward (ReLU, MaxPool2x2): y = f(x)
 * by `compute`, dL/dx from dy and that x by `gradient`; `where` names the layer in their errors.
 */
export abstract class ParameterFreeLayer extends LayerBase {
  protected readonly kind: string;
  private readonly compute: (x: Tensor, where: string) => Tensor;
  private readonly gradient: (dy: Tensor, x: Tensor, where: string) => Tensor;
  private input: Tensor | null = null;

  protected constructor(
    kind: string, compute: (x: Tensor, where: string) => Tensor, gradient: (dy: Tensor, x: Tensor, where: string) => Tensor,
  ) {
    super();
    this.kind = kind;
    this.compute = compute;
    this.gradient = gradient;
  }

  /** y = f(x); keeps x (not a copy) for backward(): do not dispose it before then. */
  forward(x: Tensor): Tensor {
    const y = this.compute(x, `${this.kind}.forward`);
    this.input = x;
    return y;
  }

  protected inputGradient(dy: Tensor, inputGrad: boolean, where: string): Tensor | null {
    const x = cachedInput(this.input, where);
    return inputGrad ? this.gradient(dy, x, where) : null;
  }

  /** @internal Keeps x as the input of a forward() a container ran in this layer's stead (Sequential's fused ReLU → MaxPool2x2). */
  _keepInput(x: Tensor): void {
    this.input = x;
  }

  parameters(): Parameter[] {
    return [];
  }

  zeroGrad(): void {}

  dispose(): void {
    this.input = null;
  }
}

/** @internal The inputGrad flag of backward() options (default true). */
export function wantsInputGrad(options: BackwardOptions | undefined, where: string): boolean {
  const opts = checkOptionsObject(options, ["inputGrad"], where, "options");
  return booleanOption(opts.inputGrad, true, where, "options.inputGrad");
}

/** @internal The input forward() kept, or ERR_INVALID_OPTION when backward() comes first. */
export function cachedInput<T>(input: T | null, where: string): T {
  if (input === null) fail(ErrorCode.INVALID_OPTION, where, "this", "a forward() call before backward()", "no cached input");
  return input;
}

/**
 * @internal Runs one layer's step inside a container; a ConvError from it gains the layer's place
 * ("Sequential.forward: layers[3], a Conv2d(8 → 16, 5×5): …") and keeps its code and details.
 */
export function inLayer<T>(container: string, place: string, layer: Layer, step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (!(error instanceof ConvError)) throw error;
    const name = (layer as { name?: unknown }).name;
    const what = typeof name === "string" && name ? `, a ${name}` : "";
    throw new ConvError(error.code, `${container}: ${place}${what}: ${error.message}`, {
      argument: error.argument, expected: error.expected, received: error.received, cause: error,
    });
  }
}
