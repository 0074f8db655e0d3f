// dx by col2im: dcol = w_gᵀ · dy_g a 4-tap × 8-pixel tile at a time, scattered into padded band buffers, then the bands summed and cropped.

import { ConvGeometry, groupInChannels, groupOutChannels, patchSize } from "../geometry";
import { gemm4x8PackedAs } from "../gemm/gemm_4x8_packed_simd";
import { packRowPanels, packedRowPanelsBytes } from "../gemm/pack_panels";
import { paddedWidth, writeTapOffsets, SLACK } from "./padded";
import { gatherColumns } from "./gather";
import { scatterTile } from "./scatter";
import { TILE_BYTES } from "./tile";
import { bandRowsFor, MIN_TASKS } from "./bands";
import { dxFullApplies } from "./dx_full";
import { addFloats, copyFloats, zeroFloats } from "../floats";

// dx[n,c,h,w] = Σ_{f,kh,kw} dy[n,f,i,j]·w[f,c,kh,kw] over i·sh − pt + kh·dh = h and j·sw − pl + kw·dw = w:
// each tile of dcol is scattered, through the index map the forward gather reads with, into
// zero-padded buffers, one per band of output rows and run of input channels, so each is an
// independent task (a scatter phase); the next phase adds the bands that overlap a dx row, in band
// order, and crops the padding. It never multiplies a weight by a padding zero, so it is exact for
// ±∞ weights too: every geometry the full correlation (dx_full.ts) cannot take, and every call with a
// non-finite weight.
//
// The buffers of every band overlap by the kernel's height: with one-row bands (a 224×224 layer) all
// of them at once were 3× dx. So the slices (image, group, run of channels) go in waves, each a pair
// of phases (scatter, reduce) over as many slices as WAVE_SHARE of the larger of dx and dy holds, and
// the waves reuse one set of buffers. Neither waves nor runs change a bit: an element's adds are those
// of its band, in pixel and tap order, and the bands are summed in band order, whatever the slices.

/** Output pixels (whole rows) per scatter band, and dx rows per reduce task. */
const BAND_PIXELS = 128;
const REDUCE_ROWS = 8;
/**
 * A wave's buffers hold at most this share of the larger of dx and dy: with the packed weights and
 * their kept copy beside them, the prepared block then stays within 1.5× the largest operand on the
 * bench's layers (npm run bench:memory). Below WAVE_MIN_BYTES no call is cut into waves: each wave
 * costs two phase barriers on the pool, which 256 KiB are not worth. Where the scatter is only the
 * full correlation's fallback (a non-finite weight), the plan reserves its bytes for every call of
 * the geometry, and so few calls run it that their extra phases cost nothing: its waves are smaller.
 */
const WAVE_SHARE: f64 = 0.75;
const WAVE_MIN_BYTES: f64 = 262144;
const FALLBACK_WAVE_SHARE: f64 = 0.25;

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
function channelsPerRun(g: ConvGeometry): i32 {
  const Cg = groupInChannels(g), taps = g.kernelHeight * g.kernelWidth;
  const unit = (taps & 3) == 0 ? 1 : (taps & 1) == 0 ? 2 : 4;
  const bandTasks = <f64>g.batch * <f64>g.groups * <f64>bandCount(g);
  const wanted = <i32>min(<f64>Cg, Math.ceil(MIN_TASKS / bandTasks));
  let perRun = min(Cg, ((Cg + wanted - 1) / wanted + unit - 1) / unit * unit);
  // Thinner runs where one run's bands alone would not fit in a wave.
  const channelBytes = <f64>bandCount(g) * <f64>bandRows(g) * <f64>paddedWidth(g) * 4;
  const fits = <i32>min(<f64>perRun, Math.floor(waveBytes(g) / channelBytes));
  if (fits < perRun) perRun = max(unit, fits / unit * unit);
  return perRun;
}

@inline function channelRuns(g: ConvGeometry): i32 {
  return (groupInChannels(g) + channelsPerRun(g) - 1) / channelsPerRun(g);
}

@inline function bandFloats(g: ConvGeometry): i32 {
  return channelsPerRun(g) * bandRows(g) * paddedWidth(g) + 2 * SLACK;
}

/** Bytes a wave's buffers may take. */
function waveBytes(g: ConvGeometry): f64 {
  const dx = <f64>g.batch * <f64>g.inChannels * <f64>g.inHeight * <f64>g.inWidth;
  const dy = <f64>g.batch * <f64>g.outChannels * <f64>g.outHeight * <f64>g.outWidth;
  if (dxFullApplies(g)) return FALLBACK_WAVE_SHARE * max(dx, dy) * 4;
  return max(WAVE_MIN_BYTES, WAVE_SHARE * max(dx, dy) * 4);
}

/** Slices (image, group, run of channels) whose buffers are out at once. */
function slicesPerWave(g: ConvGeometry): i32 {
  const slices = g.batch * g.groups * channelRuns(g);
  const sliceBytes = <f64>bandCount(g) * <f64>bandFloats(g) * 4;
  return <i32>max(1, min(<f64>slices, Math.floor(waveBytes(g) / sliceBytes)));
}

/** Phases of a call: a scatter and a reduce per wave of slices. */
export function dxScatterPhases(g: ConvGeometry): i32 {
  const slices = g.batch * g.groups * channelRuns(g);
  return 2 * ((slices + slicesPerWave(g) - 1) / slicesPerWave(g));
}

@inline function packedBytes(g: ConvGeometry): usize {
  return packedRowPanelsBytes(patchSize(g), groupOutChannels(g));
}

@inline function offsetsBytes(g: ConvGeometry): usize {
  return <usize>((patchSize(g) + 3) & ~3) << 2;
}

export function dxScatterPreparedBytes(g: ConvGeometry): f64 {
  return <f64>g.groups * <f64>packedBytes(g) + <f64>offsetsBytes(g)
    + <f64>slicesPerWave(g) * <f64>bandCount(g) * <f64>bandFloats(g) * 4;
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

/** Tasks of every scatter phase (even) or reduce phase (odd): a whole wave's; the last wave's past its slices do nothing. */
export function dxScatterTasks(g: ConvGeometry, phase: i32): i32 {
  if ((phase & 1) == 0) return slicesPerWave(g) * bandCount(g);
  return slicesPerWave(g) * ((g.inHeight + REDUCE_ROWS - 1) / REDUCE_ROWS);
}

/** Where the band buffers start: one per slice of the wave (image, group, run of channels) and band, in that order. */
@inline function bandBuffers(g: ConvGeometry, data: usize): usize {
  return data + <usize>g.groups * packedBytes(g) + offsetsBytes(g);
}

/** The buffer of one band of the wave's slice `inWave` (its first float is SLACK floats before the run's first channel). */
@inline function bandBuffer(buffers: usize, bufferBytes: usize, bands: i32, inWave: i32, band: i32): usize {
  return buffers + <usize>(inWave * bands + band) * bufferBytes;
}

/** Even phases: bands of output rows scattered into their own padded buffers. Odd: bands summed and cropped into dx. */
export function dxScatterRun(g: ConvGeometry, phase: i32, data: usize, dy: usize, dx: usize, work: usize, t0: i32, t1: i32, form: i32): void {
  const firstSlice = (phase >> 1) * slicesPerWave(g);
  if ((phase & 1) == 0) scatterBands(g, firstSlice, data, dy, work, t0, t1, form);
  else reduceBands(g, firstSlice, data, dx, t0, t1);
}

function scatterBands(g: ConvGeometry, firstSlice: i32, data: usize, dy: usize, work: usize, t0: i32, t1: i32, form: i32): void {
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
  const slices = g.batch * g.groups * runs;
  for (let t = t0; t < t1; t++) {
    // Bands of one run are neighbouring tasks: threads running them at once read the same weights.
    const band = t % bands;
    const slice = firstSlice + t / bands;
    if (slice >= slices) continue;
    const run = slice % runs;
    const group = (slice / runs) % g.groups;
    const n = slice / runs / g.groups;
    const buffer = bandBuffer(buffers, bufferBytes, bands, t / bands, band);
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
function reduceBands(g: ConvGeometry, firstSlice: i32, data: usize, dx: usize, t0: i32, t1: i32): void {
  const Cg = groupInChannels(g);
  const H = g.inHeight, W = g.inWidth, WP = paddedWidth(g);
  const chunks = (H + REDUCE_ROWS - 1) / REDUCE_ROWS;
  const rows = bandOutRows(g), reach = bandRows(g), bands = bandCount(g);
  const runs = channelRuns(g), perRun = channelsPerRun(g);
  const bandStep = rows * g.strideHeight;
  const bandPlane = <usize>(reach * WP) << 2;
  const buffers = bandBuffers(g, data), bufferBytes = <usize>bandFloats(g) << 2;
  const slices = g.batch * g.groups * runs;
  for (let t = t0; t < t1; t++) {
    const chunk = t % chunks;
    const slice = firstSlice + t / chunks;
    if (slice >= slices) continue;
    const run = slice % runs;
    const group = (slice / runs) % g.groups;
    const n = slice / runs / g.groups;
    const inWave = t / chunks;
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
          const src = bandBuffer(buffers, bufferBytes, bands, inWave, band) + (<usize>SLACK << 2) + <usize>(c - run * perRun) * bandPlane
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
