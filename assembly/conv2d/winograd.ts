// Winograd F(2×2, 3×3): 3×3, stride-1, undilated, ungrouped convolutions as 16 GEMMs over transformed 4×4 input tiles.

import { ConvGeometry } from "../geometry";
import { gemm4x8PackedAs } from "../gemm/gemm_4x8_packed_simd";

// With the transform points 0, 1, −1 and ∞ (Lavin & Gray, "Fast Algorithms for Convolutional Neural
// Networks", 2016),
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],  G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],  Aᵀ = [1 1 1 0; 0 1 −1 −1],
// the 2×2 output tile of a 4×4 input tile d under a 3×3 filter g is Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A: 16
// multiplies per channel and filter where the direct form takes 36. Summed over channels, the 16
// element-wise products are 16 GEMMs, M_ξ[F × tiles] = U_ξ[F × C] · V_ξ[C × tiles], one per point ξ,
// and they run on the forward's 4×8 micro-kernel: U_ξ packed in 4-filter panels, V_ξ in 8-tile panels.
// The transforms of d and of the output are additions only, so the one rounding beyond the direct
// form's comes from U (computed in f64, rounded once) and from the sums' larger intermediate terms:
// docs/kernels.md gives the measured error. The other points of F(4×4, 3×3) (±½, ±2) would save
// another factor of 1.8 in multiplies at 4–10× the error; this file keeps the small tile.
//
// Prepared (once per call, on the calling thread): the padded biases, then U_ξ for the 16 points. A
// task is one image's run of tiles (row-major over the ⌈Ho/2⌉ × ⌈Wo/2⌉ tiles), in blocks of up to
// BLOCK_TILES: every channel's tiles transformed into V, the 16 GEMMs into M, M transformed into
// output tiles. Every output is computed in one fixed order whatever the blocks and tasks are (lanes
// never mix), so the result is the same on any number of threads.

/** 8-tile panels per block: V (16·C·16 floats) and M (16·F·16 floats) stay within L2. */
const BLOCK_PANELS: i32 = 2;
const BLOCK_TILES: i32 = BLOCK_PANELS * 8;
/** 8-tile panels a task takes at most. */
const TASK_PANELS: i32 = 16;
/** Tasks a call is cut into at least, where it has that many 8-tile panels. */
const MIN_TASKS: i32 = 12;
/** Bytes of the 4×4 staging tile for input tiles that cross the image's edge. */
const EDGE_TILE_BYTES: usize = 64;

/**
 * Whether F(2×2, 3×3) computes this forward: 3×3, stride 1, one group (any padding). A dilated one
 * runs as undilated ones over its input's phases (dilated.ts); winogradRun itself takes dilation 1.
 */
export function winogradApplies(g: ConvGeometry): bool {
  return g.kernelHeight == 3 && g.kernelWidth == 3 && g.strideHeight == 1 && g.strideWidth == 1 && g.groups == 1;
}

@inline function paddedFilters(g: ConvGeometry): i32 {
  return (g.outChannels + 3) & ~3;
}

@inline function tileRows(g: ConvGeometry): i32 {
  return (g.outHeight + 1) >> 1;
}

@inline function tileColumns(g: ConvGeometry): i32 {
  return (g.outWidth + 1) >> 1;
}

/** Tiles per task: whole 8-tile panels, at most TASK_PANELS, cut smaller until the call has MIN_TASKS. */
function tilesPerTask(g: ConvGeometry): i32 {
  const tiles = tileRows(g) * tileColumns(g);
  const panels = g.batch * ((tiles + 7) >> 3);
  const byCount = max(1, panels / MIN_TASKS);
  return min(TASK_PANELS, byCount) << 3;
}

@inline function chunksPerImage(g: ConvGeometry): i32 {
  const per = tilesPerTask(g);
  return (tileRows(g) * tileColumns(g) + per - 1) / per;
}

export function winogradTasks(g: ConvGeometry): i32 {
  return g.batch * chunksPerImage(g);
}

export function winogradPreparedBytes(g: ConvGeometry): f64 {
  const F4 = <f64>paddedFilters(g);
  return F4 * 4 + 16 * F4 * <f64>g.inChannels * 4;
}

@inline function blockTiles(g: ConvGeometry): i32 {
  return min(BLOCK_TILES, tilesPerTask(g));
}

export function winogradWorkBytes(g: ConvGeometry): f64 {
  const tiles = <f64>blockTiles(g);
  return 16 * tiles * (<f64>g.inChannels + <f64>paddedFilters(g)) * 4 + <f64>EDGE_TILE_BYTES;
}

/** The most work bytes any geometry with these channel counts needs (blocks of BLOCK_TILES). */
export function winogradWorkBound(C: i32, F: i32): f64 {
  return 16 * <f64>BLOCK_TILES * (<f64>C + <f64>((F + 3) & ~3)) * 4 + <f64>EDGE_TILE_BYTES;
}

/**
 * Fills the prepared data: biases (bias 0 = none: zeros) padded to whole panels, then U_ξ = (G g Gᵀ)_ξ
 * in 4-filter panels. Filter (o, i) of this geometry — output channel o, input channel i — is the
 * 3×3 block at w + 4·9·(o·oStride + i·iStride), read rotated by 180° where `rotate` (dx's full
 * correlation: oStride 1, iStride C of the forward). False if a point of U is ±∞ or NaN (a weight is,
 * or the transform overflowed): multiplied by an all-zero tile's points it would make NaN where the
 * direct form gives ±∞ or a finite sum, so the caller takes the GEMM instead.
 */
export function winogradPrepare(g: ConvGeometry, w: usize, oStride: i32, iStride: i32, rotate: bool, bias: usize, data: usize): bool {
  const C = g.inChannels, F = g.outChannels, F4 = paddedFilters(g);
  for (let f = 0; f < F4; f++) {
    store<f32>(data + (<usize>f << 2), bias != 0 && f < F ? load<f32>(bias + (<usize>f << 2)) : 0);
  }
  const u = data + (<usize>F4 << 2);
  const pointBytes = <usize>F4 * <usize>C << 2;
  let finite = true;
  for (let o = 0; o < F4; o++) {
    for (let i = 0; i < C; i++) {
      const at = u + (<usize>(o >> 2) * <usize>C << 4) + (<usize>i << 4) + (<usize>(o & 3) << 2);
      if (o >= F) {
        for (let xi = 0; xi < 16; xi++) store<f32>(at + <usize>xi * pointBytes, 0);
        continue;
      }
      const src = w + (<usize>(o * oStride + i * iStride) * 9 << 2);
      // Gg (4 rows of 3) from the filter's rows, then each row of Gg through G again: point ξ = 4·row + column.
      for (let r = 0; r < 4; r++) {
        const a = ggRow(src, r, 0, rotate), b = ggRow(src, r, 1, rotate), c = ggRow(src, r, 2, rotate);
        const u0 = <f32>a, u1 = <f32>((a + b + c) * 0.5), u2 = <f32>((a - b + c) * 0.5), u3 = <f32>c;
        // Non-finite weights make non-finite points; so do finite ones near f32's limit once summed.
        if (!isFinite(u0) || !isFinite(u1) || !isFinite(u2) || !isFinite(u3)) finite = false;
        const row = at + <usize>(4 * r) * pointBytes;
        store<f32>(row, u0);
        store<f32>(row + pointBytes, u1);
        store<f32>(row + 2 * pointBytes, u2);
        store<f32>(row + 3 * pointBytes, u3);
      }
    }
  }
  return finite;
}

/** Row r of G·g at column kw, in f64. */
@inline function ggRow(src: usize, r: i32, kw: i32, rotate: bool): f64 {
  const g0 = tap(src, 0, kw, rotate), g1 = tap(src, 1, kw, rotate), g2 = tap(src, 2, kw, rotate);
  if (r == 0) return g0;
  if (r == 1) return (g0 + g1 + g2) * 0.5;
  if (r == 2) return (g0 - g1 + g2) * 0.5;
  return g2;
}

@inline function tap(src: usize, kh: i32, kw: i32, rotate: bool): f64 {
  const index = rotate ? 8 - (kh * 3 + kw) : kh * 3 + kw;
  return <f64>load<f32>(src + (<usize>index << 2));
}

/** Tasks [t0, t1); work is winogradWorkBytes of this thread's scratch. */
export function winogradRun(g: ConvGeometry, data: usize, x: usize, out: usize, work: usize, t0: i32, t1: i32, form: i32): void {
  const C = g.inChannels, F = g.outChannels, F4 = paddedFilters(g);
  const TW = tileColumns(g), T = tileRows(g) * TW;
  const per = tilesPerTask(g), chunks = chunksPerImage(g), block = blockTiles(g);
  const inImage = <usize>C * <usize>(g.inHeight * g.inWidth) << 2;
  const outImage = <usize>F * <usize>(g.outHeight * g.outWidth) << 2;
  const u = data + (<usize>F4 << 2);
  const v = work, m = v + (<usize>(16 * block) * <usize>C << 2), edge = m + (<usize>(16 * block) * <usize>F4 << 2);
  for (let t = t0; t < t1; t++) {
    const n = t / chunks, first = (t % chunks) * per, end = min(T, first + per);
    const xn = x + <usize>n * inImage, on = out + <usize>n * outImage;
    for (let b0 = first; b0 < end; b0 += block) {
      const count = min(block, end - b0);
      transformInput(g, xn, b0, count, block, v, edge);
      multiply(C, F4, (count + 7) >> 3, block, u, v, m, form);
      transformOutput(g, data, m, b0, count, block, on);
    }
  }
}

/**
 * V_ξ for `count` tiles from `first`: point ξ of tile j, channel c at v + 4·(ξ·C·block + c·block … ),
 * laid out as the micro-kernel's B panels: 8-tile panels, each C rows of 8 lanes.
 */
function transformInput(g: ConvGeometry, x: usize, first: i32, count: i32, block: i32, v: usize, edge: usize): void {
  const C = g.inChannels, H = g.inHeight, W = g.inWidth, TW = tileColumns(g);
  const planeBytes = <usize>(H * W) << 2;
  const rowBytes = <usize>W << 2;
  const pointBytes = <usize>(block * C) << 2;
  const sign = f32x4(-0.0, 0.0, -0.0, -0.0);
  for (let c = 0; c < C; c++) {
    const plane = x + <usize>c * planeBytes;
    let ty = first / TW, tx = first % TW;
    for (let j = 0; j < count; j++) {
      const iy = 2 * ty - g.padTop, ix = 2 * tx - g.padLeft;
      let d0: v128, d1: v128, d2: v128, d3: v128;
      if (iy >= 0 && iy + 3 < H && ix >= 0 && ix + 3 < W) {
        const p = plane + <usize>iy * rowBytes + (<usize>ix << 2);
        d0 = v128.load(p);
        d1 = v128.load(p + rowBytes);
        d2 = v128.load(p + 2 * rowBytes);
        d3 = v128.load(p + 3 * rowBytes);
      } else {
        for (let r = 0; r < 4; r++) {
          for (let q = 0; q < 4; q++) {
            const y = iy + r, xx = ix + q;
            const inside = <u32>y < <u32>H && <u32>xx < <u32>W;
            store<f32>(edge + (<usize>(4 * r + q) << 2), inside ? load<f32>(plane + <usize>y * rowBytes + (<usize>xx << 2)) : 0);
          }
        }
        d0 = v128.load(edge);
        d1 = v128.load(edge, 16);
        d2 = v128.load(edge, 32);
        d3 = v128.load(edge, 48);
      }
      // Bᵀd: rows.
      const r0 = f32x4.sub(d0, d2), r1 = f32x4.add(d1, d2), r2 = f32x4.sub(d2, d1), r3 = f32x4.sub(d1, d3);
      // (Bᵀd)B: within each row, (c0 − c2, c1 + c2, c2 − c1, c1 − c3).
      const at = v + (<usize>(j >> 3) * <usize>C << 5) + (<usize>c << 5) + (<usize>(j & 7) << 2);
      storeRow(at, columns(r0, sign), pointBytes);
      storeRow(at + 4 * pointBytes, columns(r1, sign), pointBytes);
      storeRow(at + 8 * pointBytes, columns(r2, sign), pointBytes);
      storeRow(at + 12 * pointBytes, columns(r3, sign), pointBytes);
      if (++tx == TW) {
        tx = 0;
        ty++;
      }
    }
  }
}

@inline function columns(r: v128, sign: v128): v128 {
  const a = v128.shuffle<f32>(r, r, 0, 1, 2, 1);
  const b = v128.shuffle<f32>(r, r, 2, 2, 1, 3);
  return f32x4.add(a, v128.xor(b, sign));
}

/** The four lanes of one transformed row go to four consecutive points, pointBytes apart. */
@inline function storeRow(at: usize, row: v128, pointBytes: usize): void {
  v128.store32_lane(at, row, 0);
  v128.store32_lane(at + pointBytes, row, 1);
  v128.store32_lane(at + 2 * pointBytes, row, 2);
  v128.store32_lane(at + 3 * pointBytes, row, 3);
}

/** M_ξ = U_ξ · V_ξ for the 16 points: M_ξ rows of `block` tiles, one per (padded) filter. */
function multiply(C: i32, F4: i32, panels: i32, block: i32, u: usize, v: usize, m: usize, form: i32): void {
  const uPoint = <usize>(F4 * C) << 2, vPoint = <usize>(block * C) << 2, mPoint = <usize>(block * F4) << 2;
  const ldc = <usize>block << 2;
  for (let xi = 0; xi < 16; xi++) {
    const uXi = u + <usize>xi * uPoint, vXi = v + <usize>xi * vPoint, mXi = m + <usize>xi * mPoint;
    for (let f = 0; f < F4; f += 4) {
      const a = uXi + (<usize>(f * C) << 2);
      const c = mXi + <usize>f * ldc;
      for (let p = 0; p < panels; p++) {
        gemm4x8PackedAs(form, C, a, vXi + (<usize>(p * C) << 5), c + (<usize>p << 5), ldc, 0);
      }
    }
  }
}

/** Y = Aᵀ M A (+ bias) for each filter and tile, four tiles at a time, stored where they fall inside the output. */
function transformOutput(g: ConvGeometry, data: usize, m: usize, first: i32, count: i32, block: i32, out: usize): void {
  const F = g.outChannels, F4 = paddedFilters(g), Ho = g.outHeight, Wo = g.outWidth, TW = tileColumns(g);
  const mPoint = <usize>(block * F4) << 2;
  const outPlane = <usize>(Ho * Wo) << 2, outRow = <usize>Wo << 2;
  for (let j = 0; j < count; j += 4) {
    const tile = first + j;
    const ty = tile / TW, tx = tile % TW;
    const oy = 2 * ty, ox = 2 * tx;
    // Four whole tiles side by side in one pair of output rows: two full-width stores per row (ox + 8 ≤ Wo
    // also keeps the four in one tile row: tx + 4 ≤ Wo / 2 ≤ TW).
    const whole = j + 4 <= count && ox + 8 <= Wo && oy + 2 <= Ho;
    for (let f = 0; f < F; f++) {
      const src = m + <usize>f * (<usize>block << 2) + (<usize>j << 2);
      const m0 = v128.load(src), m1 = v128.load(src + mPoint), m2 = v128.load(src + 2 * mPoint), m3 = v128.load(src + 3 * mPoint);
      const m4 = v128.load(src + 4 * mPoint), m5 = v128.load(src + 5 * mPoint), m6 = v128.load(src + 6 * mPoint), m7 = v128.load(src + 7 * mPoint);
      const m8 = v128.load(src + 8 * mPoint), m9 = v128.load(src + 9 * mPoint), m10 = v128.load(src + 10 * mPoint), m11 = v128.load(src + 11 * mPoint);
      const m12 = v128.load(src + 12 * mPoint), m13 = v128.load(src + 13 * mPoint), m14 = v128.load(src + 14 * mPoint), m15 = v128.load(src + 15 * mPoint);
      // AᵀM: row 0 = M0 + M1 + M2, row 1 = M1 − M2 − M3 (rows of the 4×4 point grid).
      const s0 = f32x4.add(f32x4.add(m0, m4), m8), s1 = f32x4.add(f32x4.add(m1, m5), m9);
      const s2 = f32x4.add(f32x4.add(m2, m6), m10), s3 = f32x4.add(f32x4.add(m3, m7), m11);
      const t0 = f32x4.sub(f32x4.sub(m4, m8), m12), t1 = f32x4.sub(f32x4.sub(m5, m9), m13);
      const t2 = f32x4.sub(f32x4.sub(m6, m10), m14), t3 = f32x4.sub(f32x4.sub(m7, m11), m15);
      const b = v128.load32_splat(data + (<usize>f << 2));
      const y00 = f32x4.add(f32x4.add(f32x4.add(s0, s1), s2), b), y01 = f32x4.add(f32x4.sub(f32x4.sub(s1, s2), s3), b);
      const y10 = f32x4.add(f32x4.add(f32x4.add(t0, t1), t2), b), y11 = f32x4.add(f32x4.sub(f32x4.sub(t1, t2), t3), b);
      const plane = out + <usize>f * outPlane;
      if (whole) {
        const at = plane + <usize>oy * outRow + (<usize>ox << 2);
        v128.store(at, v128.shuffle<f32>(y00, y01, 0, 4, 1, 5));
        v128.store(at, v128.shuffle<f32>(y00, y01, 2, 6, 3, 7), 16);
        v128.store(at + outRow, v128.shuffle<f32>(y10, y11, 0, 4, 1, 5));
        v128.store(at + outRow, v128.shuffle<f32>(y10, y11, 2, 6, 3, 7), 16);
      } else {
        storeTiles(plane, outRow, Ho, Wo, TW, tile, min(4, count - j), y00, y01, y10, y11);
      }
    }
  }
}

/** The `lanes` tiles from `tile` one value at a time, each clipped to the output. */
function storeTiles(plane: usize, outRow: usize, Ho: i32, Wo: i32, TW: i32, tile: i32, lanes: i32,
  y00: v128, y01: v128, y10: v128, y11: v128): void {
  for (let l = 0; l < lanes; l++) {
    const ty = (tile + l) / TW, tx = (tile + l) % TW;
    const oy = 2 * ty, ox = 2 * tx;
    const at = plane + <usize>oy * outRow + (<usize>ox << 2);
    const right = ox + 1 < Wo, below = oy + 1 < Ho;
    store<f32>(at, laneOf(y00, l));
    if (right) store<f32>(at + 4, laneOf(y01, l));
    if (below) {
      store<f32>(at + outRow, laneOf(y10, l));
      if (right) store<f32>(at + outRow + 4, laneOf(y11, l));
    }
  }
}

@inline function laneOf(v: v128, l: i32): f32 {
  if (l == 0) return f32x4.extract_lane(v, 0);
  if (l == 1) return f32x4.extract_lane(v, 1);
  if (l == 2) return f32x4.extract_lane(v, 2);
  return f32x4.extract_lane(v, 3);
}
