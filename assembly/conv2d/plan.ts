// One conv2d direction as the API schedules it: plan (bytes), prepare (choose the path once, pack), run (tasks, on any thread).

import { ALGORITHM_GEMM, ALGORITHM_WINOGRAD, ConvGeometry, isDepthwise, isThinDepthwise, patchSize } from "../geometry";
import { DIRECTION_DB, DIRECTION_DW, DIRECTION_DX, DIRECTION_FORWARD } from "../contract";
import { gemmForwardPrepare, gemmForwardPreparedBytes, gemmForwardRun, gemmForwardTasks, gemmForwardWorkBytes } from "./forward";
import { dxFullApplies, dxFullGeometry, dxFullPrepare, dxFullPreparedBytes, dxFullRun, dxFullTasks, dxFullWorkBytes } from "./dx_full";
import { dxScatterPhases, dxScatterPrepare, dxScatterPreparedBytes, dxScatterRun, dxScatterTasks, dxScatterWorkBytes } from "./dx_scatter";
import { dwRun, dwTasks, dwWorkBytes } from "./dw";
import { winogradApplies, winogradPrepare, winogradPreparedBytes, winogradRun, winogradTasks, winogradWorkBytes } from "./winograd";
import { dilatedRun, dilatedTasks, dilatedWorkBytes, isDilated } from "./dilated";
import { dbRun, dbTasks } from "./db";
import { dwDirectChosen, dwDirectRun, dwDirectTasks, dwDirectWorkBytes } from "./dw_direct";
import { directForwardChosen, directDxChosen, directRun, directTasks, directWorkBytes } from "./direct";
import { broadcastForm } from "./broadcast";
import {
  depthwiseDwRun, depthwiseDwTasks, depthwiseForwardRun, depthwiseDxPrepare, depthwiseDxPreparedBytes,
  depthwiseDxRun, depthwisePlaneTasks, depthwiseWorkBytes,
} from "./depthwise";

// A call runs in three steps. conv2dPlan says how many bytes the prepared block (shared by all
// threads) and each thread's work block need. conv2dPrepare fills the prepared block on the calling
// thread: a copy of the geometry, the path taken, packed weights, and the task counts of each phase.
// conv2dRun then runs any range of a phase's tasks, with one thread's work block; phases run in order.
// Tasks of a phase write disjoint outputs and every output is computed in one fixed order, so the
// result is the same for any split of tasks over threads, one thread included.

// The paths, one per kernel (docs/kernels.md has this table with each path's file). The shape picks
// one in shapePath; a path with a fallback also needs finite weights, which only prepare can see.
/** forward: im2col panels × packed 4-filter panels (forward.ts; 1×1, stride 1, unpadded: x is its own im2col). */
export const FORWARD_GEMM: i32 = 1;
/** forward, one input channel per group and fewer than 4 filters per channel: plane sweeps (depthwise.ts). */
export const FORWARD_DEPTHWISE: i32 = 2;
/** dx at stride 1, no pad wider than the dilated kernel, finite weights: the forward GEMM over dy (dx_full.ts). */
export const DX_FULL: i32 = 3;
/** dx otherwise: col2im tiles scattered into band buffers, then summed (dx_scatter.ts). */
export const DX_SCATTER: i32 = 4;
/** dx, one input channel per group, as DX_FULL: plane sweeps of dy with the rotated filters (depthwise.ts). */
export const DX_DEPTHWISE_FULL: i32 = 5;
/** dx, one input channel per group, otherwise: plane scatters (depthwise.ts). */
export const DX_DEPTHWISE_SCATTER: i32 = 6;
/** dw: dot products of dy rows with im2col rows, 8-tap blocks over 1,024-pixel chunks (dw.ts). */
export const DW_GEMM: i32 = 7;
/** dw, as FORWARD_DEPTHWISE: per-filter plane sweeps (depthwise.ts). */
export const DW_DEPTHWISE: i32 = 8;
/** db: sums of dy over images and pixels, 4 filters per task (db.ts). */
export const DB_SUM: i32 = 9;
/** forward, 3×3 at stride 1, one group, finite weights: Winograd F(2×2, 3×3) (winograd.ts; dilated: over phases, dilated.ts). */
export const FORWARD_WINOGRAD: i32 = 10;
/** dx where DX_FULL applies and the layer is 3×3, one group: F(2×2, 3×3) over dy (winograd.ts, dilated.ts). */
export const DX_WINOGRAD: i32 = 11;

/** forward, few channels, stride 1 along rows: sliding windows over padded rows, FORWARD_GEMM's packing (direct.ts). */
export const FORWARD_DIRECT: i32 = 12;
/** dx as DX_FULL, where its forward over dy has few channels: the direct forward over dy (direct.ts, dx_full.ts). */
export const DX_DIRECT: i32 = 13;
/** dw, few filters, stride 1 along rows: 4-filter × 2-tap tiles swept over padded planes (dw_direct.ts). */
export const DW_DIRECT: i32 = 14;

/**
 * Whether F(2×2, 3×3) runs a 3×3 stride-1 correlation with C input and F output channels. Forced by
 * the algorithm option; on "auto" where bench/ measured it faster than the GEMM: ... channels on
 * both sides, where the 16 GEMMs amortise the transforms.
 */
function winogradChosen(g: ConvGeometry, C: i32, F: i32): bool {
  if (g.algorithm == ALGORITHM_GEMM || !winogradApplies(g)) return false;
  if (g.algorithm == ALGORITHM_WINOGRAD) return true;
  return C >= 16 && F >= 16;
}

// The Winograd paths run an undilated geometry directly and a dilated one over its phases.
@inline function winogradPathTasks(g: ConvGeometry): i32 {
  return isDilated(g) ? dilatedTasks(g) : winogradTasks(g);
}

@inline function winogradPathWorkBytes(g: ConvGeometry): f64 {
  return isDilated(g) ? dilatedWorkBytes(g) : winogradWorkBytes(g);
}

@inline function winogradPathRun(g: ConvGeometry, data: usize, x: usize, out: usize, work: usize, t0: i32, t1: i32, form: i32): void {
  if (isDilated(g)) dilatedRun(g, data, x, out, work, t0, t1, form);
  else winogradRun(g, data, x, out, work, t0, t1, form);
}

/** The path the geometry picks for a direction (before the weights are seen). */
export function shapePath(g: ConvGeometry, direction: i32): i32 {
  if (direction == DIRECTION_FORWARD) {
    if (isThinDepthwise(g)) return FORWARD_DEPTHWISE;
    if (winogradChosen(g, g.inChannels, g.outChannels)) return FORWARD_WINOGRAD;
    return directForwardChosen(g) ? FORWARD_DIRECT : FORWARD_GEMM;
  }
  if (direction == DIRECTION_DX) {
    if (isDepthwise(g)) return dxFullApplies(g) ? DX_DEPTHWISE_FULL : DX_DEPTHWISE_SCATTER;
    if (!dxFullApplies(g)) return DX_SCATTER;
    if (winogradChosen(g, g.outChannels, g.inChannels)) return DX_WINOGRAD;
    return directDxChosen(g) ? DX_DIRECT : DX_FULL;
  }
  if (direction == DIRECTION_DW) {
    if (isThinDepthwise(g)) return DW_DEPTHWISE;
    return dwDirectChosen(g) ? DW_DIRECT : DW_GEMM;
  }
  return DB_SUM;
}

/** Where a path goes when a weight is ±∞ or NaN (itself where that changes nothing). */
@inline function fallbackPath(path: i32): i32 {
  if (path == DX_FULL || path == DX_WINOGRAD || path == DX_DIRECT) return DX_SCATTER;
  if (path == FORWARD_WINOGRAD) return FORWARD_GEMM;
  if (path == DX_DEPTHWISE_FULL) return DX_DEPTHWISE_SCATTER;
  return path;
}

/** The prepared block's header: geometry, auxiliary (full-correlation) geometry, then the path and schedule. */
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
  /** The micro-kernel's broadcast form (broadcast.ts), for the threads that run the tasks. */
  form: i32;
}
const GEOMETRY_OFFSET: usize = 0;
const FULL_GEOMETRY_OFFSET: usize = 128;
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

/** Bytes of the weight (and, forward, bias) copy a path's packing is kept with; 0 where it packs nothing worth keeping. */
function weightCopyBytes(g: ConvGeometry, path: i32): usize {
  const weights = <usize>g.outChannels * <usize>patchSize(g) << 2;
  if (path == FORWARD_GEMM || path == FORWARD_WINOGRAD || path == FORWARD_DIRECT) return weights + (<usize>g.outChannels << 2);
  if (path == DX_FULL || path == DX_SCATTER || path == DX_WINOGRAD || path == DX_DIRECT) return weights;
  return 0;
}

/** Prepared bytes past the header and the weight copy that a path needs; fullGeometry is dxFullGeometry's. */
function pathPreparedBytes(g: ConvGeometry, path: i32, fullGeometry: usize): f64 {
  if (path == FORWARD_GEMM || path == FORWARD_DIRECT) return gemmForwardPreparedBytes(g);
  if (path == FORWARD_WINOGRAD) return winogradPreparedBytes(g);
  if (path == DX_FULL || path == DX_DIRECT) return dxFullPreparedBytes(dxFullGeometry(g, fullGeometry));
  if (path == DX_WINOGRAD) return winogradPreparedBytes(dxFullGeometry(g, fullGeometry));
  if (path == DX_SCATTER) return dxScatterPreparedBytes(g);
  if (path == DX_DEPTHWISE_FULL || path == DX_DEPTHWISE_SCATTER) return depthwiseDxPreparedBytes(g);
  return 0;
}

/** Work bytes one thread needs on a path. */
function pathWorkBytes(g: ConvGeometry, path: i32, fullGeometry: usize): f64 {
  if (path == FORWARD_GEMM) return gemmForwardWorkBytes(g);
  if (path == FORWARD_WINOGRAD) return winogradPathWorkBytes(g);
  if (path == DX_FULL) return dxFullWorkBytes(dxFullGeometry(g, fullGeometry));
  if (path == DX_WINOGRAD) return winogradPathWorkBytes(dxFullGeometry(g, fullGeometry));
  if (path == FORWARD_DIRECT) return directWorkBytes(g);
  if (path == DX_DIRECT) return directWorkBytes(dxFullGeometry(g, fullGeometry));
  if (path == DX_SCATTER) return dxScatterWorkBytes(g);
  if (path == DW_GEMM) return dwWorkBytes(g);
  if (path == DW_DIRECT) return dwDirectWorkBytes(g);
  if (path == DB_SUM) return 0;
  return depthwiseWorkBytes(g);
}

/**
 * Writes two f64 at plan: the prepared block's bytes and each thread's work bytes: the most the
 * geometry's path or its fallback may need (conv2dPrepare, which sees the weights, picks between them).
 * plan must have PLAN_BYTES (the rest is scratch for this call).
 */
export function conv2dPlan(geometry: usize, direction: i32, plan: usize): void {
  const g = changetype<ConvGeometry>(geometry);
  const path = shapePath(g, direction), fallback = fallbackPath(path);
  const scratch = plan + 64;
  let prepared = <f64>copyRegion(weightCopyBytes(g, path)) + pathPreparedBytes(g, path, scratch);
  let work = pathWorkBytes(g, path, scratch);
  if (fallback != path) {
    prepared = max(prepared, <f64>copyRegion(weightCopyBytes(g, fallback)) + pathPreparedBytes(g, fallback, scratch));
    work = max(work, pathWorkBytes(g, fallback, scratch));
  }
  store<f64>(plan, <f64>DATA_OFFSET + prepared);
  store<f64>(plan, work, 8);
}

/**
 * Fills the prepared block for this call; returns the number of phases (1, or 2 per wave of the dx scatter). reusable: the block
 * is as the previous conv2dPrepare and its tasks left it, so a packing of the same weights may be kept.
 */
export function conv2dPrepare(direction: i32, geometry: usize, w: usize, bias: usize, prepared: usize, reusable: bool): i32 {
  const h = header(prepared);
  const given = changetype<ConvGeometry>(geometry);
  const copy = prepared + DATA_OFFSET;
  let path = shapePath(given, direction);
  h.form = broadcastForm();
  if (reusable && h.reusable == REUSABLE && h.direction == direction && h.w == w && h.bias == bias
    && bytesEqual(prepared + GEOMETRY_OFFSET, geometry, <usize>offsetof<ConvGeometry>())
    && keptCopyMatches(given, h.path, copy, w, bias)) {
    return h.phases;
  }
  h.reusable = 0;
  memory.copy(prepared + GEOMETRY_OFFSET, geometry, offsetof<ConvGeometry>());
  const g = changetype<ConvGeometry>(prepared + GEOMETRY_OFFSET);
  h.w = w;
  h.bias = bias;
  h.phases = 1;
  h.tasks1 = 0;
  // The full correlation packs the weights and finds out whether they are finite; if not, the
  // fallback is prepared instead, over the same block.
  if (!preparePath(g, path, prepared, w, bias)) {
    path = fallbackPath(path);
    preparePath(g, path, prepared, w, bias);
  }
  h.path = path;
  const copyBytes = weightCopyBytes(g, path);
  if (copyBytes != 0) {
    const weightBytes = <usize>g.outChannels * <usize>patchSize(g) << 2;
    memory.copy(copy, w, weightBytes);
    if (copyBytes != weightBytes && bias != 0) memory.copy(copy + weightBytes, bias, copyBytes - weightBytes);
    h.direction = direction;
    h.reusable = REUSABLE;
  }
  return h.phases;
}

/** Prepares one path (data, tasks, phases); false where the path cannot take these weights. */
function preparePath(g: ConvGeometry, path: i32, prepared: usize, w: usize, bias: usize): bool {
  const h = header(prepared);
  const data = prepared + DATA_OFFSET + copyRegion(weightCopyBytes(g, path));
  h.data = data - prepared;
  if (path == FORWARD_GEMM) {
    gemmForwardPrepare(g, w, bias, data);
    h.tasks0 = gemmForwardTasks(g);
  } else if (path == FORWARD_WINOGRAD) {
    if (!winogradPrepare(g, w, g.inChannels, 1, false, bias, data)) return false;
    h.tasks0 = winogradPathTasks(g);
  } else if (path == DX_WINOGRAD) {
    const t = dxFullGeometry(g, prepared + FULL_GEOMETRY_OFFSET);
    if (!winogradPrepare(t, w, 1, t.outChannels, true, 0, data)) return false;
    h.tasks0 = winogradPathTasks(t);
  } else if (path == FORWARD_DIRECT) {
    gemmForwardPrepare(g, w, bias, data);
    h.tasks0 = directTasks(g);
  } else if (path == FORWARD_DEPTHWISE) {
    h.tasks0 = depthwisePlaneTasks(g);
  } else if (path == DX_FULL) {
    const t = dxFullGeometry(g, prepared + FULL_GEOMETRY_OFFSET);
    if (!dxFullPrepare(g, t, w, data)) return false;
    h.tasks0 = dxFullTasks(t);
  } else if (path == DX_DIRECT) {
    const t = dxFullGeometry(g, prepared + FULL_GEOMETRY_OFFSET);
    if (!dxFullPrepare(g, t, w, data)) return false;
    h.tasks0 = directTasks(t);
  } else if (path == DX_SCATTER) {
    dxScatterPrepare(g, w, data);
    h.phases = dxScatterPhases(g);
    h.tasks0 = dxScatterTasks(g, 0);
    h.tasks1 = dxScatterTasks(g, 1);
  } else if (path == DX_DEPTHWISE_FULL || path == DX_DEPTHWISE_SCATTER) {
    const finite = depthwiseDxPrepare(g, w, data);
    h.tasks0 = depthwisePlaneTasks(g);
    if (path == DX_DEPTHWISE_FULL && !finite) return false;
  } else if (path == DW_GEMM) {
    h.tasks0 = dwTasks(g);
  } else if (path == DW_DIRECT) {
    h.tasks0 = dwDirectTasks(g);
  } else if (path == DW_DEPTHWISE) {
    h.tasks0 = depthwiseDwTasks(g);
  } else {
    h.tasks0 = dbTasks(g);
  }
  return true;
}

/** Whether the weights (and, forward, bias) the block kept its packing for are these, bit for bit. */
function keptCopyMatches(g: ConvGeometry, path: i32, copy: usize, w: usize, bias: usize): bool {
  const copyBytes = weightCopyBytes(g, path);
  if (copyBytes == 0) return false;
  const weightBytes = <usize>g.outChannels * <usize>patchSize(g) << 2;
  if (!bytesEqual(copy, w, weightBytes)) return false;
  return bias == 0 || copyBytes == weightBytes || bytesEqual(copy + weightBytes, bias, copyBytes - weightBytes);
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

/** Tasks of a phase of a prepared call (a path with more than two phases alternates two kinds: tasks0 even, tasks1 odd). */
export function conv2dTasks(prepared: usize, phase: i32): i32 {
  const h = header(prepared);
  return (phase & 1) == 0 ? h.tasks0 : h.tasks1;
}

/** The path conv2dPrepare chose (one of the constants above), for tests and the docs' table. */
export function conv2dPath(prepared: usize): i32 {
  return header(prepared).path;
}

/**
 * Runs tasks [t0, t1) of a phase on the path conv2dPrepare chose. The operands by direction: forward
 * (x, −, out); dx (dy, −, dx); dw (dy, x, dw); db (dy, −, db). accumulate adds dw or db onto what they hold.
 */
export function conv2dRun(
  phase: i32, prepared: usize, a: usize, b: usize, out: usize, accumulate: bool, work: usize, t0: i32, t1: i32,
): void {
  const g = changetype<ConvGeometry>(prepared + GEOMETRY_OFFSET);
  const h = header(prepared);
  const data = prepared + h.data;
  switch (h.path) {
    case FORWARD_GEMM: gemmForwardRun(g, data, a, out, work, t0, t1, h.form); break;
    case FORWARD_WINOGRAD: winogradPathRun(g, data, a, out, work, t0, t1, h.form); break;
    case DX_WINOGRAD: winogradPathRun(changetype<ConvGeometry>(prepared + FULL_GEOMETRY_OFFSET), data, a, out, work, t0, t1, h.form); break;
    case FORWARD_DIRECT: directRun(g, data, a, out, work, t0, t1); break;
    case DX_DIRECT: directRun(changetype<ConvGeometry>(prepared + FULL_GEOMETRY_OFFSET), data, a, out, work, t0, t1); break;
    case FORWARD_DEPTHWISE: depthwiseForwardRun(g, a, h.w, h.bias, out, work, t0, t1); break;
    case DX_FULL: dxFullRun(changetype<ConvGeometry>(prepared + FULL_GEOMETRY_OFFSET), data, a, out, work, t0, t1, h.form); break;
    case DX_SCATTER: dxScatterRun(g, phase, data, a, out, work, t0, t1, h.form); break;
    case DX_DEPTHWISE_FULL: depthwiseDxRun(g, true, data, h.w, a, out, work, t0, t1); break;
    case DX_DEPTHWISE_SCATTER: depthwiseDxRun(g, false, data, h.w, a, out, work, t0, t1); break;
    case DW_GEMM: dwRun(g, a, b, out, accumulate, work, t0, t1); break;
    case DW_DIRECT: dwDirectRun(g, a, b, out, accumulate, work, t0, t1); break;
    case DW_DEPTHWISE: depthwiseDwRun(g, a, b, out, accumulate, work, t0, t1); break;
    default: dbRun(g, a, out, accumulate, t0, t1);
  }
}
