// The parts of TensorFlow.js the plugin touches, typed structurally: tfjs stays the user's dependency, never a type this package imports.

/** tfjs's DataType. */
export type TfjsDataType = "float32" | "int32" | "bool" | "complex64" | "string";

/** A tensor as a tfjs kernel sees it (tfjs's TensorInfo). */
export interface TfjsTensorInfo {
  readonly dataId: object;
  readonly shape: number[];
  readonly dtype: TfjsDataType;
}

export type TfjsAttrs = Record<string, unknown>;

/** What a kernel function receives. */
export interface TfjsKernelArgs {
  inputs: Record<string, TfjsTensorInfo | undefined>;
  attrs?: TfjsAttrs;
  backend: object;
}

/**
 * A kernel's registration. Its functions are typed loosely (tfjs's own KernelConfig must be one, and
 * tfjs's attribute and backend types are its own); the plugin's kernels take TfjsKernelArgs.
 */
export interface TfjsKernelConfig {
  kernelName: string;
  backendName: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  kernelFunc: (args: any) => any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  setupFunc?: (backend: any) => void;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  disposeFunc?: (backend: any) => void;
}

/** A tfjs Tensor, as a gradient function passes it on. */
export interface TfjsTensor extends TfjsTensorInfo {
  readonly rank: number;
}

/** A gradient's registration (tfjs's GradConfig), its function typed loosely as TfjsKernelConfig's. */
export interface TfjsGradConfig {
  kernelName: string;
  inputsToSave?: string[];
  outputsToSave?: boolean[];
  saveAllInputs?: boolean;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  gradFunc: (dy: any, saved: any[], attrs: any) => Record<string, () => any>;
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
      roundingMode: unknown, depthwise: boolean, dataFormat: "channelsLast" | "channelsFirst",
    ): TfjsConvInfo;
    convertConv2DDataFormat(dataFormat: "NHWC" | "NCHW"): "channelsLast" | "channelsFirst";
  };
}
