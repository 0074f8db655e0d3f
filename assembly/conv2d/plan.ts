// One conv2d direction as the API schedules it: plan (bytes), prepare (packing, once), run (tasks, on any thread).

import { ConvGeometry, isDepthwise, isThinDepthwise, patchSize } from "../geometry";
import { gemmForwardPrepare, gemmForwardPreparedBytes, gemmForwardRun, gemmForwardTasks, gemmForwardWorkBytes } from "./forward";
import {
  scatterPrepare, scatterPreparedBytes, scatterRun, scatterTasks, scatterWorkBytes,
  sweepGeometry, sweepPrepare, sweepPreparedBytes, sweepRun, sweepTasks, sweepWorkBytes,
} from "./backward_input";
import { gemmFilterRun, gemmFilterTasks, gemmFilterWorkBytes } from "./backward_filter";
import { biasRun, biasTasks } from "./bias";
import {
  depthwiseFilterRun, depthwiseFilterTasks, depthwiseForwardRun, depthwiseInputPrepare, depthwiseInputPreparedBytes,
  depthwiseInputRun, depthwisePlaneTasks, depthwiseWorkBytes,
} from "./depthwise";

// A call runs in three steps. conv2dPlan says how many bytes the prepared block (shared by all
// threads) and each thread's work block need. conv2dPrepare fills the prepared block on the calling
// thread: a copy of the geometry, the path taken, packed weights, and the task counts of each phase.
// conv2dRun then runs any range of a phase's tasks, with one thread's work block; phases run in order.
// Tasks of a phase write disjoint outputs and every output is computed in one fixed order, so the
// result is the same for any split of tasks over threads, one thread included.

/** Directions, as the API numbers them. */
export const FORWARD = 0;
export const INPUT = 1;
export const FILTER = 2;
export const BIAS = 3;

// Paths (per direction).
const GEMM = 0;
const THIN_DEPTHWISE = 1;
const SWEEP = 0;
const SCATTER = 1;
const DEPTHWISE_SWEEP = 2;
const DEPTHWISE_SCATTER = 3;

/** The prepared block's header: geometry, auxiliary (sweep) geometry, then the path and schedule. */
@unmanaged class Header {
  path: i32;
  phases: i32;
  tasks0: i32;
  tasks1: i32;
  w: usize;
  bias: usize;
  /** REUSABLE when the block holds a finished packing of the weights copied after DATA_OFFSET. */
  reusable: i32;
  direction: i32;
  /** Where the packed data start: after the copy of the weights (and biases) they were packed from. */
  data: usize;
}
const GEOMETRY_OFFSET: usize = 0;
const GEOMETRY_BYTES: usize = 72;
const SWEEP_OFFSET: usize = 128;
const HEADER_OFFSET: usize = 256;
const DATA_OFFSET: usize = 320;
const REUSABLE = 0x50414b44;

@inline function header(prepared: usize): Header {
  return changetype<Header>(prepared + HEADER_OFFSET);
}

// Packing the weights is the one serial step of a call, and on several threads each call's fresh
// packing must also travel to the other cores' caches. When a call's weights are the ones the block
// was last packed from (inference, an input-gradient loop), conv2dPrepare keeps the packing: the block
// holds a copy of those weights, compared bit for bit, so changed weights (a training step, an in-place
// update) are always packed anew. Only the caller knows whether the block is still as the last call
// left it (the API's reusable scratch block is; a fresh allocation is not), so it says so.

/** The copy's bytes rounded to a cache line, so that the packed data after it stay aligned. */
@inline function copyRegion(bytes: usize): usize {
  return (bytes + 63) & ~63;
}

/** Bytes of the weight (and bias) copy a direction keeps; 0 where it packs nothing worth keeping. */
function weightCopyBytes(g: ConvGeometry, direction: i32): usize {
  if (direction == FORWARD && !isThinDepthwise(g)) return (<usize>g.outChannels * <usize>patchSize(g) + <usize>g.outChannels) << 2;
  if (direction == INPUT && !isDepthwise(g)) return <usize>g.outChannels * <usize>patchSize(g) << 2;
  return 0;
}

/**
 * Writes two f64 at plan: the prepared block's bytes and each thread's work bytes (the largest any
 * path of this direction may need: the path is chosen in conv2dPrepare, which can look at the weights).
 * plan must have 256 bytes (the rest is scratch for this call).
 */
export function conv2dPlan(geometry: usize, direction: i32, plan: usize): void {
  const g = changetype<ConvGeometry>(geometry);
  let prepared: f64 = <f64>DATA_OFFSET + <f64>copyRegion(weightCopyBytes(g, direction)), work: f64 = 0;
  if (direction == FORWARD) {
    if (isThinDepthwise(g)) {
      work = depthwiseWorkBytes(g);
    } else {
      prepared += gemmForwardPreparedBytes(g);
      work = gemmForwardWorkBytes(g);
    }
  } else if (direction == INPUT) {
    if (isDepthwise(g)) {
      prepared += depthwiseInputPreparedBytes(g);
      work = depthwiseWorkBytes(g);
    } else {
      let extra = scatterPreparedBytes(g);
      work = scatterWorkBytes(g);
      const t = changetype<ConvGeometry>(plan + 64);
      if (sweepGeometry(g, plan + 64)) {
        extra = max(extra, sweepPreparedBytes(t));
        work = max(work, sweepWorkBytes(t));
      }
      prepared += extra;
    }
  } else if (direction == FILTER) {
    work = isThinDepthwise(g) ? depthwiseWorkBytes(g) : gemmFilterWorkBytes(g);
  }
  store<f64>(plan, prepared);
  store<f64>(plan, work, 8);
}

/**
 * Fills the prepared block for this call; returns the number of phases (1 or 2). reusable: the block
 * is as the previous conv2dPrepare and its tasks left it, so a packing of the same weights may be kept.
 */
export function conv2dPrepare(direction: i32, geometry: usize, w: usize, bias: usize, prepared: usize, reusable: bool): i32 {
  const h = header(prepared);
  const copy = prepared + DATA_OFFSET;
  const copyBytes = weightCopyBytes(changetype<ConvGeometry>(geometry), direction);
  const weightBytes = direction == FORWARD ? copyBytes - (<usize>changetype<ConvGeometry>(geometry).outChannels << 2) : copyBytes;
  if (reusable && copyBytes != 0 && h.reusable == REUSABLE && h.direction == direction && h.w == w && h.bias == bias
    && bytesEqual(prepared + GEOMETRY_OFFSET, geometry, GEOMETRY_BYTES) && bytesEqual(copy, w, weightBytes)
    && (bias == 0 || copyBytes == weightBytes || bytesEqual(copy + weightBytes, bias, copyBytes - weightBytes))) {
    return h.phases;
  }
  h.reusable = 0;
  memory.copy(prepared + GEOMETRY_OFFSET, geometry, 128);
  const g = changetype<ConvGeometry>(prepared + GEOMETRY_OFFSET);
  const data = copy + copyRegion(copyBytes);
  h.data = data - prepared;
  h.w = w;
  h.bias = bias;
  h.phases = 1;
  h.tasks1 = 0;
  if (direction == FORWARD) {
    if (isThinDepthwise(g)) {
      h.path = THIN_DEPTHWISE;
      h.tasks0 = depthwisePlaneTasks(g);
    } else {
      h.path = GEMM;
      gemmForwardPrepare(g, w, bias, data);
      h.tasks0 = gemmForwardTasks(g);
    }
  } else if (direction == INPUT) {
    if (isDepthwise(g)) {
      h.path = depthwiseInputPrepare(g, w, data) ? DEPTHWISE_SWEEP : DEPTHWISE_SCATTER;
      h.tasks0 = depthwisePlaneTasks(g);
    } else {
      const t = changetype<ConvGeometry>(prepared + SWEEP_OFFSET);
      if (sweepGeometry(g, prepared + SWEEP_OFFSET) && sweepPrepare(g, t, w, data)) {
        h.path = SWEEP;
        h.tasks0 = sweepTasks(t);
      } else {
        h.path = SCATTER;
        scatterPrepare(g, w, data);
        h.phases = 2;
        h.tasks0 = scatterTasks(g, 0);
        h.tasks1 = scatterTasks(g, 1);
      }
    }
  } else if (direction == FILTER) {
    h.path = isThinDepthwise(g) ? THIN_DEPTHWISE : GEMM;
    h.tasks0 = h.path == THIN_DEPTHWISE ? depthwiseFilterTasks(g) : gemmFilterTasks(g);
  } else {
    h.path = 0;
    h.tasks0 = biasTasks(g);
  }
  if (copyBytes != 0) {
    memory.copy(copy, w, weightBytes);
    if (copyBytes != weightBytes && bias != 0) memory.copy(copy + weightBytes, bias, copyBytes - weightBytes);
    h.direction = direction;
    h.reusable = REUSABLE;
  }
  return h.phases;
}

/** Whether n bytes (a multiple of 4) at a and b are the same bits. */
function bytesEqual(a: usize, b: usize, n: usize): bool {
  let i: usize = 0;
  for (; i + 16 <= n; i += 16) {
    if (v128.any_true(v128.xor(v128.load(a + i), v128.load(b + i)))) return false;
  }
  for (; i < n; i += 4) {
    if (load<u32>(a + i) != load<u32>(b + i)) return false;
  }
  return true;
}

/** Tasks of a phase of a prepared call. */
export function conv2dTasks(prepared: usize, phase: i32): i32 {
  const h = header(prepared);
  return phase == 0 ? h.tasks0 : h.tasks1;
}

/**
 * Runs tasks [t0, t1) of a phase. The operands by direction: forward (x, −, out); input (dy, −, dx);
 * filter (dy, x, dw); bias (dy, −, db). accumulate adds dw or db onto what they hold.
 */
export function conv2dRun(
  direction: i32, phase: i32, prepared: usize, a: usize, b: usize, out: usize, accumulate: bool, work: usize, t0: i32, t1: i32,
): void {
  const g = changetype<ConvGeometry>(prepared + GEOMETRY_OFFSET);
  const h = header(prepared);
  const data = prepared + h.data;
  if (direction == FORWARD) {
    if (h.path == THIN_DEPTHWISE) depthwiseForwardRun(g, a, h.w, h.bias, out, work, t0, t1);
    else gemmForwardRun(g, data, a, out, work, t0, t1);
  } else if (direction == INPUT) {
    if (h.path == SWEEP) sweepRun(changetype<ConvGeometry>(prepared + SWEEP_OFFSET), data, a, out, work, t0, t1);
    else if (h.path == SCATTER) scatterRun(g, phase, data, a, out, work, t0, t1);
    else depthwiseInputRun(g, h.path == DEPTHWISE_SWEEP, data, h.w, a, out, work, t0, t1);
  } else if (direction == FILTER) {
    if (h.path == THIN_DEPTHWISE) depthwiseFilterRun(g, a, b, out, accumulate, work, t0, t1);
    else gemmFilterRun(g, a, b, out, accumulate, work, t0, t1);
  } else {
    biasRun(g, a, out, accumulate, t0, t1);
  }
}
