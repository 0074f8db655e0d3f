// registerTfjsKernels(tf): the plugin's kernels and gradients registered with the user's TensorFlow.js, for its wasm and cpu backends.

import { ErrorCode, describe, fail } from "../core/errors.js";
import { checkOptionsObject } from "../core/checks.js";
import type { Runtime } from "../core/runtime.js";
import { createRuntime, type InitOptions } from "../init.js";
import { dilatedGradient } from "./gradients.js";
import { BACKPROP_KERNELS, FORWARD_KERNELS, kernelConfig, type TfjsKernelName } from "./kernels.js";
import type { TfjsGradConfig, TfjsKernelConfig, TfjsNamespace } from "./types.js";

export type { TfjsNamespace } from "./types.js";
export type { TfjsKernelName } from "./kernels.js";

/** The backends the plugin has kernels for. */
export type TfjsBackendName = "wasm" | "cpu";

export interface RegisterTfjsKernelsOptions {
  /** Which tfjs backends get the kernels. Default: each of "wasm" and "cpu" that is registered with tfjs. */
  backends?: readonly TfjsBackendName[];
  /** Threads for the convolutions, as init()'s: 1 (default), a number, or "auto". Results are bit-identical to one thread. */
  threads?: InitOptions["threads"];
  /** Which arithmetic, as init()'s: "auto" (default), "fixed" or "relaxed". */
  simd?: InitOptions["simd"];
  /**
   * The forward kernels (Conv2D, FusedConv2D and the depthwise two). "auto" (default): this library's on
   * cpu; on wasm, XNNPACK's for NHWC (faster than this library's behind the layout copies: bench/RESULTS.md,
   * "TensorFlow.js plugin") and this library's for the NCHW calls XNNPACK refuses. "replace": this
   * library's for every call. "keep": the backend's own for every call. The backprop kernels are
   * registered whatever this says.
   */
  forward?: "auto" | "replace" | "keep";
}

/** What registerTfjsKernels registered. */
export interface TfjsRegistration {
  /** The backends that got kernels. */
  readonly backends: readonly TfjsBackendName[];
  /** For each of those backends, the kernels registered for it. */
  readonly kernels: Readonly<Partial<Record<TfjsBackendName, readonly TfjsKernelName[]>>>;
  /** The gradients replaced so that dilated convolutions train: "Conv2D" and "DepthwiseConv2dNative". */
  readonly gradients: readonly string[];
  /** The runtime the kernels run in (its own memory and threads; memoryUsage(runtime) reads it). */
  readonly runtime: Runtime;
  /** Puts tfjs's own kernels and gradients back and ends the runtime's threads. */
  unregister(): void;
}

const OPTION_KEYS = ["backends", "threads", "simd", "forward"];
const BACKENDS: readonly TfjsBackendName[] = ["wasm", "cpu"];
const TF_FUNCTIONS = ["registerKernel", "unregisterKernel", "getKernel", "registerGradient", "getGradient", "findBackendFactory", "getBackend", "engine"];
const WHERE = "registerTfjsKernels";

/** The registration in force: a new call unregisters it first. */
let current: TfjsRegistration | undefined;

/**
 * Registers this library's convolution kernels with TensorFlow.js: `tf` is the user's own namespace
 * (`import * as tf from "@tensorflow/tfjs"`), with the wasm backend imported beforehand if it is to get
 * them. Call it before or after tf.setBackend(). A second call replaces the first's registration.
 */
export async function registerTfjsKernels(tf: TfjsNamespace, options?: RegisterTfjsKernelsOptions): Promise<TfjsRegistration> {
  checkNamespace(tf);
  const opts = checkOptionsObject(options, OPTION_KEYS, WHERE, "options");
  const backends = chooseBackends(tf, opts.backends);
  const forward = opts.forward ?? "auto";
  if (forward !== "auto" && forward !== "replace" && forward !== "keep") {
    fail(ErrorCode.INVALID_OPTION, WHERE, "options.forward", '"auto", "replace" or "keep"', describe(forward));
  }
  const runtime = await createRuntime({ threads: opts.threads ?? 1, simd: opts.simd ?? "auto" });
  current?.unregister();

  const restore: (() => void)[] = [];
  const kernels: Partial<Record<TfjsBackendName, TfjsKernelName[]>> = {};
  for (const backendName of backends) {
    // "auto" on wasm: NHWC forwards stay XNNPACK's; the plugin takes the NCHW ones it refuses.
    const keepChannelsLast = forward === "auto" && backendName === "wasm";
    const names: TfjsKernelName[] = [...(forward === "keep" ? [] : FORWARD_KERNELS), ...BACKPROP_KERNELS];
    for (const kernelName of names) {
      const original = tf.getKernel(kernelName, backendName);
      const forwardKernel = (FORWARD_KERNELS as readonly string[]).includes(kernelName);
      replaceKernel(tf, kernelConfig(tf, runtime, kernelName, backendName, original, keepChannelsLast && forwardKernel));
      restore.push(() => {
        if (original) replaceKernel(tf, original);
        else if (tf.getKernel(kernelName, backendName)) tf.unregisterKernel(kernelName, backendName);
      });
    }
    kernels[backendName] = names;
  }

  const gradients: string[] = [];
  const onPluginBackend = () => (backends as readonly string[]).includes(tf.getBackend());
  for (const kernelName of ["Conv2D", "DepthwiseConv2dNative"] as const) {
    const original = tf.getGradient(kernelName);
    if (!original) continue;
    tf.registerGradient(dilatedGradient(tf, kernelName, original, onPluginBackend));
    restore.push(() => tf.registerGradient(original as TfjsGradConfig));
    gradients.push(kernelName);
  }

  const registration: TfjsRegistration = {
    backends, kernels, gradients, runtime,
    unregister() {
      if (current !== registration) return;
      current = undefined;
      for (const undo of restore.reverse()) undo();
      runtime.terminate();
    },
  };
  current = registration;
  return registration;
}

/** registerKernel without tfjs's "already registered" warning: the old config is taken out first. */
function replaceKernel(tf: TfjsNamespace, config: TfjsKernelConfig): void {
  if (tf.getKernel(config.kernelName, config.backendName)) tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
}

function checkNamespace(tf: unknown): asserts tf is TfjsNamespace {
  const ns = tf as Record<string, unknown> | null;
  const ok = !!ns && (typeof ns === "object" || typeof ns === "function")
    && TF_FUNCTIONS.every((name) => typeof ns[name] === "function")
    && typeof (ns.backend_util as Record<string, unknown> | undefined)?.computeConv2DInfo === "function";
  if (!ok) fail(ErrorCode.INVALID_OPTION, WHERE, "tf", 'the TensorFlow.js namespace (import * as tf from "@tensorflow/tfjs")', describe(tf));
}

function chooseBackends(tf: TfjsNamespace, value: unknown): TfjsBackendName[] {
  if (value === undefined) {
    const found = BACKENDS.filter((name) => !!tf.findBackendFactory(name));
    if (found.length === 0) {
      fail(ErrorCode.INIT, WHERE, "tf", 'a TensorFlow.js with its "wasm" or "cpu" backend registered', "neither");
    }
    return found;
  }
  if (!Array.isArray(value) || value.length === 0 || !value.every((b) => (BACKENDS as readonly unknown[]).includes(b))) {
    fail(ErrorCode.INVALID_OPTION, WHERE, "options.backends", 'a non-empty array of "wasm" and "cpu"', describe(value));
  }
  const chosen = [...new Set(value as TfjsBackendName[])];
  for (const name of chosen) {
    if (!tf.findBackendFactory(name)) {
      fail(ErrorCode.INIT, WHERE, "options.backends", `tfjs's "${name}" backend registered (import "@tensorflow/tfjs-backend-${name}" first)`, "none");
    }
  }
  return chosen;
}
