// dx by col2im: dcol = w_gᵀ · dy_g a 4-tap × 8-pixel tile at a time, scattered into padded band buffers, then the bands summed and cropped.

import { ConvGeometry, groupInChannels, groupOutChannels, patchSize } from "../geometry";
import { gemm4x8PackedAs } from "../gemm/gemm_4x8_packed_simd";
import { packRowPanels, packedRowPanelsBytes } from "../gemm/pack_panels";
import { paddedWidth, writeTapOffsets, SLACK } from "./padded";
import { gatherColumns } from "./gather";
import { scatterTile } from "./scatter";
import { TILE_BYTES } from "./tile";
import { bandRowsFor, MIN_TASKS } from "./bands";
import { addFloats, copyFloats, zeroFloats } from "../floats";

// dx[n,c,h,w] = Σ_{f,kh,kw} dy[n,f,i,j]·w[f,c,kh,kw] over i·sh − pt + kh·dh = h and j·sw − pl + kw·dw = w:
// each tile of dcol is scattered, through the index map the forward gather reads with, into
// zero-padded buffers, one per band of output rows and run of input channels, so each is an
// independent task (phase 0); phase 1 adds the bands that overlap a dx row, in band order, and crops
// the padding. It never multiplies a weight by a padding zero, so it is exact for ±∞ weights too:
// every geometry the full correlation (dx_full.ts) cannot take, and every call with a non-finite weight.

/** Output pixels (whole rows) per scatter band, and dx rows per reduce task. */
const BAND_PIXELS = 128;
const REDUCE_ROWS = 8;

@inline function bandOutRows(g: ConvGeometry): i32 {
  return bandRowsFor(g, BAND_PIXELS, g.batch * g.groups, MIN_TASKS / 2);
}

@inline function bandCount(g: ConvGeometry): i32 {
  return (g.outHeight + bandOutRows(g) - 1) / bandOutRows(g);
}

/** Padded rows one band can reach: its output rows' span plus the dilated kernel. */
@inline function bandRows(g: ConvGeometry): i32 {
  return (bandOutRows(g) - 1) * g.strideHeight + (g.kernelHeight - 1) * g.dilationHeight + 1;
}

/**
 * Input channels per scatter buffer. A band alone makes few tasks (it is kept thick: bands overlap by
 * the kernel's height), so the channels are cut into runs as well, up to MIN_TASKS tasks. Every dx
 * element belongs to one run, and gets its adds in the same order whatever the runs are. A run's taps
 * start on a 4-tap tile (its channel count times KH·KW is a multiple of 4), and each run has its own
 * buffer with its own slack: the stride-2 scatter adds +0 to the float after a row's last value, which
 * must never be another task's.
 */
@inline function channelsPerRun(g: ConvGeometry): i32 {
  const Cg = groupInChannels(g), taps = g.kernelHeight * g.kernelWidth;
  const unit = (taps & 3) == 0 ? 1 : (taps & 1) == 0 ? 2 : 4;
  const bandTasks = <f64>g.batch * <f64>g.groups * <f64>bandCount(g);
  const wanted = <i32>min(<f64>Cg, Math.ceil(MIN_TASKS / bandTasks));
  const perRun = (Cg + wanted - 1) / wanted;
  return min(Cg, (perRun + unit - 1) / unit * unit);
}

@inline function channelRuns(g: ConvGeometry): i32 {
  return (groupInChannels(g) + channelsPerRun(g) - 1) / channelsPerRun(g);
}

@inline function bandFloats(g: ConvGeometry): i32 {
  return channelsPerRun(g) * bandRows(g) * paddedWidth(g) + 2 * SLACK;
}

@inline function packedBytes(g: ConvGeometry): usize {
  return packedRowPanelsBytes(patchSize(g), groupOutChannels(g));
}

@inline function offsetsBytes(g: ConvGeometry): usize {
  return <usize>((patchSize(g) + 3) & ~3) << 2;
}

export function dxScatterPreparedBytes(g: ConvGeometry): f64 {
  return <f64>g.groups * <f64>packedBytes(g) + <f64>offsetsBytes(g)
    + <f64>g.batch * <f64>g.groups * <f64>bandCount(g) * <f64>channelRuns(g) * <f64>bandFloats(g) * 4;
}

export function dxScatterWorkBytes(g: ConvGeometry): f64 {
  return <f64>groupOutChannels(g) * 32 + <f64>TILE_BYTES;
}

/** w_gᵀ of every group in 4-tap panels (A[k, f] = w[f, k]), and tap offsets in a band buffer. */
export function dxScatterPrepare(g: ConvGeometry, w: usize, data: usize): void {
  const Fg = groupOutChannels(g), K = patchSize(g);
  for (let group = 0; group < g.groups; group++) {
    packRowPanels(K, Fg, w + (<usize>(group * Fg) * <usize>K << 2), 1, K, data + <usize>group * packedBytes(g));
  }
  writeTapOffsets(g, groupInChannels(g), bandRows(g) * paddedWidth(g), data + <usize>g.groups * packedBytes(g));
}

export function dxScatterTasks(g: ConvGeometry, phase: i32): i32 {
  if (phase == 0) return g.batch * g.groups * bandCount(g) * channelRuns(g);
  return g.batch * g.groups * ((g.inHeight + REDUCE_ROWS - 1) / REDUCE_ROWS) * channelRuns(g);
}

/** Where the band buffers start: one per image, group, run of channels and band, in that order. */
@inline function bandBuffers(g: ConvGeometry, data: usize): usize {
  return data + <usize>g.groups * packedBytes(g) + offsetsBytes(g);
}

/** The buffer of one band and run of channels (its first float is SLACK floats before the run's first channel). */
@inline function bandBuffer(buffers: usize, bufferBytes: usize, bands: i32, runs: i32, groups: i32, n: i32, group: i32, run: i32, band: i32): usize {
  return buffers + <usize>(((n * groups + group) * runs + run) * bands + band) * bufferBytes;
}

/** Phase 0: bands of output rows scattered into their own padded buffers. Phase 1: bands summed and cropped into dx. */
export function dxScatterRun(g: ConvGeometry, phase: i32, data: usize, dy: usize, dx: usize, work: usize, t0: i32, t1: i32, form: i32): void {
  if (phase == 0) scatterBands(g, data, dy, work, t0, t1, form);
  else reduceBands(g, data, dx, t0, t1);
}

function scatterBands(g: ConvGeometry, data: usize, dy: usize, work: usize, t0: i32, t1: i32, form: i32): void {
  const Fg = groupOutChannels(g), K = patchSize(g);
  const P = g.outHeight * g.outWidth;
  const WP = paddedWidth(g);
  const bands = bandCount(g), rows = bandOutRows(g), runs = channelRuns(g), perRun = channelsPerRun(g);
  const taps = g.kernelHeight * g.kernelWidth;
  const channelPlane = <usize>(bandRows(g) * WP) << 2;
  const tapOffsets = data + <usize>g.groups * packedBytes(g);
  const panel = work;
  const tile = panel + (<usize>Fg << 5);
  const buffers = bandBuffers(g, data), bufferBytes = <usize>bandFloats(g) << 2;
  for (let t = t0; t < t1; t++) {
    // Bands of one run are neighbouring tasks: threads running them at once read the same weights.
    const band = t % bands;
    const run = (t / bands) % runs;
    const group = (t / bands / runs) % g.groups;
    const n = t / bands / runs / g.groups;
    const buffer = bandBuffer(buffers, bufferBytes, bands, runs, g.groups, n, group, run, band);
    zeroFloats(buffer, <i32>(bufferBytes >> 2));
    // Padded row 0 of the band buffer is padded row band·rows·sh of the image, and its first channel
    // is the run's: the tap offsets count channels from the group's first.
    const origin = buffer + (<usize>SLACK << 2) - (<usize>(band * rows * g.strideHeight * WP) << 2) - <usize>(run * perRun) * channelPlane;
    const packedA = data + <usize>group * packedBytes(g);
    const dyg = dy + (<usize>(n * g.outChannels + group * Fg) * <usize>P << 2);
    const pixelStart = band * rows * g.outWidth;
    const pixelEnd = min(P, pixelStart + rows * g.outWidth);
    const kStart = run * perRun * taps, kEnd = min(K, kStart + perRun * taps);
    for (let p0 = pixelStart; p0 < pixelEnd; p0 += 8) {
      const count = min(8, pixelEnd - p0);
      gatherColumns(dyg, Fg, P, p0, count, panel);
      for (let k0 = kStart; k0 < kEnd; k0 += 4) {
        gemm4x8PackedAs(form, Fg, packedA + (<usize>k0 * <usize>Fg << 2), panel, tile, 32, 0);
        scatterTile(g, tile, tapOffsets, k0, min(kEnd, k0 + 4), p0, count, origin);
      }
    }
  }
}

// dx[c, h, :] = Σ over the bands that reach padded row h + pt, in band order, of that row's image part.
function reduceBands(g: ConvGeometry, data: usize, dx: usize, t0: i32, t1: i32): void {
  const Cg = groupInChannels(g);
  const H = g.inHeight, W = g.inWidth, WP = paddedWidth(g);
  const chunks = (H + REDUCE_ROWS - 1) / REDUCE_ROWS;
  const rows = bandOutRows(g), reach = bandRows(g), bands = bandCount(g);
  const runs = channelRuns(g), perRun = channelsPerRun(g);
  const bandStep = rows * g.strideHeight;
  const bandPlane = <usize>(reach * WP) << 2;
  const buffers = bandBuffers(g, data), bufferBytes = <usize>bandFloats(g) << 2;
  for (let t = t0; t < t1; t++) {
    const chunk = t % chunks;
    const run = (t / chunks) % runs;
    const group = (t / chunks / runs) % g.groups;
    const n = t / chunks / runs / g.groups;
    const h0 = chunk * REDUCE_ROWS, h1 = min(H, h0 + REDUCE_ROWS);
    for (let c = run * perRun; c < min(Cg, (run + 1) * perRun); c++) {
      const dxc = dx + (<usize>((n * g.inChannels + group * Cg + c) * H) * <usize>W << 2);
      for (let h = h0; h < h1; h++) {
        const hp = h + g.padTop;
        const dst = dxc + (<usize>(h * W) << 2);
        const first = max(0, (hp - reach + bandStep) / bandStep);
        const last = min(bands - 1, hp / bandStep);
        let initialised = false;
        for (let band = first; band <= last; band++) {
          const offset = hp - band * bandStep;
          if (offset >= reach) continue;
          const src = bandBuffer(buffers, bufferBytes, bands, runs, g.groups, n, group, run, band) + (<usize>SLACK << 2) + <usize>(c - run * perRun) * bandPlane
            + (<usize>(offset * WP + g.padLeft) << 2);
          if (initialised) addFloats(dst, src, W);
          else copyFloats(dst, src, W);
          initialised = true;
        }
        if (!initialised) zeroFloats(dst, W);
      }
    }
  }
}
