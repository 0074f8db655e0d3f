// What the API and the kernels must agree on, in one place: exported by the module, read or checked by init() (js/core/kernels.ts).

import { ConvGeometry } from "./geometry";

/**
 * The version of the kernels' interface (every export and its arguments), as js/core/kernels.ts's:
 * bumped with every change to it. 2: issue 12's layers (pooling, batch norm, activations, dropout).
 * 3: transposeBatched, for the TensorFlow.js plugin's layout changes. 4: the geometry's algorithm field (Winograd).
 * 5: reluMaxPool2x2Forward and reluMaxPool2x2Backward, a ReLU and a 2×2 max-pool in one pass each way.
 * 6: setBroadcastForm and the BROADCAST_ numbers (the micro-kernel's form per engine).
 */
export const ABI_VERSION: i32 = 6;

/** The four directions of a convolution, as conv2dPlan, conv2dPrepare and conv2dRun number them. */
export const DIRECTION_FORWARD: i32 = 0;
export const DIRECTION_DX: i32 = 1;
export const DIRECTION_DW: i32 = 2;
export const DIRECTION_DB: i32 = 3;

/** The micro-kernel's two broadcast forms, as setBroadcastForm takes them (the kernel file defines them). */
export { BROADCAST_LOAD, BROADCAST_SHUFFLE } from "./gemm/gemm_4x8_packed_simd";

/** Bytes of the slot conv2dPlan writes its answer into (the rest is its scratch). */
export const PLAN_BYTES: i32 = 256;

/** Bytes of the geometry block the API writes: one i32 per field of ConvGeometry. */
export const GEOMETRY_BYTES: i32 = <i32>offsetof<ConvGeometry>();
