// The parts of TensorFlow.js the plugin touches, typed structurally: tfjs stays the user's dependency, never a type this package imports.

/** A tensor as a tfjs kernel sees it. */
export interface TfjsTensorInfo {
  readonly dataId: object;
  readonly shape: readonly number[];
  readonly dtype: string;
}

export type TfjsAttrs = Record<string, unknown>;

/** What a kernel function receives. */
export interface TfjsKernelArgs {
  inputs: Record<string, TfjsTensorInfo | undefined>;
  attrs?: TfjsAttrs;
  backend: unknown;
}

export interface TfjsKernelConfig {
  kernelName: string;
  backendName: string;
  kernelFunc: (args: TfjsKernelArgs) => TfjsTensorInfo | TfjsTensorInfo[];
  setupFunc?: (backend: unknown) => void;
  disposeFunc?: (backend: unknown) => void;
}

/** A tfjs Tensor, as a gradient function passes it on. */
export interface TfjsTensor extends TfjsTensorInfo {
  readonly rank: number;
}

export interface TfjsGradConfig {
  kernelName: string;
  inputsToSave?: string[];
  outputsToSave?: boolean[];
  saveAllInputs?: boolean;
  gradFunc: (dy: unknown, saved: TfjsTensor[], attrs: TfjsAttrs) => Record<string, () => unknown>;
}

/** The fields of tfjs's Conv2DInfo (backend_util.computeConv2DInfo) the kernels read. */
export interface TfjsConvInfo {
  batchSize: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  padInfo: { top: number; bottom: number; left: number; right: number };
  strideHeight: number;
  strideWidth: number;
  filterHeight: number;
  filterWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  dataFormat: "channelsLast" | "channelsFirst";
  outShape: number[];
}

/** The `tf` namespace (`import * as tf from "@tensorflow/tfjs"`), as far as the plugin uses it. */
export interface TfjsNamespace {
  registerKernel(config: TfjsKernelConfig): void;
  unregisterKernel(kernelName: string, backendName: string): void;
  getKernel(kernelName: string, backendName: string): TfjsKernelConfig | undefined;
  registerGradient(config: TfjsGradConfig): void;
  getGradient(kernelName: string): TfjsGradConfig | undefined;
  findBackendFactory(name: string): unknown;
  getBackend(): string;
  engine(): { runKernel(kernelName: string, inputs: Record<string, unknown>, attrs?: TfjsAttrs): unknown };
  backend_util: {
    computeConv2DInfo(
      inShape: readonly number[], filterShape: readonly number[], strides: unknown, dilations: unknown, pad: unknown,
      roundingMode: unknown, depthwise: boolean, dataFormat: string,
    ): TfjsConvInfo;
    convertConv2DDataFormat(dataFormat: string): string;
  };
}
