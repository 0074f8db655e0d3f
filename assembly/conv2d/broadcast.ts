// The micro-kernel's broadcast form for this instance's calls: set by the API once at init, copied by conv2dPrepare into each call's header.

import { BROADCAST_LOAD, BROADCAST_SHUFFLE } from "../gemm/gemm_4x8_packed_simd";

// A module global is per instance, and each worker thread has its own instance; so the form travels
// to the workers in the prepared block's header (which they share), never through this global.
let form: i32 = BROADCAST_LOAD;

/** Makes conv2dPrepare choose the load (BROADCAST_LOAD) or shuffle (BROADCAST_SHUFFLE) form of gemm4x8Packed. */
export function setBroadcastForm(broadcast: i32): void {
  form = broadcast == BROADCAST_SHUFFLE ? BROADCAST_SHUFFLE : BROADCAST_LOAD;
}

/** The form setBroadcastForm chose (the load form until it is called). */
@inline export function broadcastForm(): i32 {
  return form;
}
