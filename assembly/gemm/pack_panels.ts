// packed[p][k][r] = A[4p + r, k] (0 for rows past M): 4-row panels of A, k-major, as the 4×8 micro-kernel reads them.

// A is read through (rowStride, colStride), so W (forward) and Wᵀ (dx) pack with the same code.
// Panels are zero-padded to 4 rows: the micro-kernel then never needs a row mask.
export function packRowPanels(M: i32, K: i32, a: usize, aRowStride: i32, aColStride: i32, packed: usize): void {
  const rowBytes = <usize>aRowStride << 2;
  const colBytes = <usize>aColStride << 2;
  let dst = packed;
  for (let i = 0; i < M; i += 4) {
    const rows = min(4, M - i);
    let src = a + <usize>i * rowBytes;
    if (rows == 4 && aColStride == 1) {
      // Rows contiguous along k (W itself): 4×4 blocks transposed in registers, whole vectors out.
      let k = 0;
      for (; k + 4 <= K; k += 4) {
        const r0 = v128.load(src), r1 = v128.load(src + rowBytes);
        const r2 = v128.load(src + rowBytes * 2), r3 = v128.load(src + rowBytes * 3);
        const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
        const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
        v128.store(dst, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
        v128.store(dst, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 16);
        v128.store(dst, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 32);
        v128.store(dst, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 48);
        src += 16;
        dst += 64;
      }
      for (; k < K; k++) {
        store<f32>(dst, load<f32>(src));
        store<f32>(dst, load<f32>(src + rowBytes), 4);
        store<f32>(dst, load<f32>(src + rowBytes * 2), 8);
        store<f32>(dst, load<f32>(src + rowBytes * 3), 12);
        src += 4;
        dst += 16;
      }
    } else if (rows == 4 && aRowStride == 1) {
      // Columns contiguous (Wᵀ for dx): each packed group of 4 is one vector read.
      for (let k = 0; k < K; k++) {
        v128.store(dst, v128.load(src));
        src += colBytes;
        dst += 16;
      }
    } else if (rows == 4) {
      for (let k = 0; k < K; k++) {
        store<f32>(dst, load<f32>(src));
        store<f32>(dst, load<f32>(src + rowBytes), 4);
        store<f32>(dst, load<f32>(src + rowBytes * 2), 8);
        store<f32>(dst, load<f32>(src + rowBytes * 3), 12);
        src += colBytes;
        dst += 16;
      }
    } else {
      for (let k = 0; k < K; k++) {
        for (let r = 0; r < 4; r++) {
          store<f32>(dst + (<usize>r << 2), r < rows ? load<f32>(src + <usize>r * rowBytes) : 0);
        }
        src += colBytes;
        dst += 16;
      }
    }
  }
}

/** Bytes packRowPanels writes for an M × K matrix. */
@inline export function packedRowPanelsBytes(M: i32, K: i32): usize {
  return <usize>((M + 3) & ~3) * <usize>K << 2;
}

/**
 * The weights of dx computed as a forward pass (stride 1): packed[p][k'][r] = w[f, 4p + r, KH−1−kh, KW−1−kw]
 * with k' = (f·KH + kh)·KW + kw, i.e. w transposed in (f, c) and rotated 180° — rows past Cg are 0.
 * w points at the group's first filter (Fg filters of Cg·KH·KW). Returns false if any weight is ±∞
 * or NaN (the caller then takes a path that does not multiply them by padding zeros).
 */
export function packTransposedRotated(Fg: i32, Cg: i32, KH: i32, KW: i32, w: usize, packed: usize): bool {
  const taps = KH * KW;
  if (taps == 1 && (Cg & 3) == 0) return packTransposedPointwise(Fg, Cg, w, packed);
  const channelBytes = <usize>taps << 2;
  // v − v is +0 (all bits clear) for a finite v and NaN for ±∞ or NaN: OR-ing the bits finds any,
  // with a one-cycle dependency from one vector to the next (a running sum's would be the add's).
  let check = i32x4.splat(0);
  let dst = packed;
  for (let c0 = 0; c0 < Cg; c0 += 4) {
    const rows = min(4, Cg - c0);
    for (let f = 0; f < Fg; f++) {
      const filter = w + (<usize>((f * Cg + c0) * taps) << 2);
      for (let t = 0; t < taps; t++) {
        const src = filter + (<usize>(taps - 1 - t) << 2);
        let v = f32x4.splat(0);
        v = f32x4.replace_lane(v, 0, load<f32>(src));
        if (rows > 1) v = f32x4.replace_lane(v, 1, load<f32>(src + channelBytes));
        if (rows > 2) v = f32x4.replace_lane(v, 2, load<f32>(src + channelBytes * 2));
        if (rows > 3) v = f32x4.replace_lane(v, 3, load<f32>(src + channelBytes * 3));
        check = v128.or(check, f32x4.sub(v, v));
        v128.store(dst, v);
        dst += 16;
      }
    }
  }
  return !v128.any_true(check);
}

// 1×1, Cg a multiple of 4: W (Fg × Cg) transposed. Read a filter's channels a vector at a time, 4
// filters together, and write each panel a whole 64-byte line per 4 filters: walking one panel down
// all filters instead would read W at a stride of Cg floats, a power of two in most layers, which
// maps every read to the same few L1 sets (L5's dx packed 3× slower that way).
function packTransposedPointwise(Fg: i32, Cg: i32, w: usize, packed: usize): bool {
  const panelBytes = <usize>Fg << 4;
  const rowBytes = <usize>Cg << 2;
  let check = i32x4.splat(0);
  let f = 0;
  for (; f + 4 <= Fg; f += 4) {
    let src = w + <usize>f * rowBytes;
    let dst = packed + (<usize>f << 4);
    for (let c0 = 0; c0 < Cg; c0 += 4) {
      const v0 = v128.load(src), v1 = v128.load(src + rowBytes);
      const v2 = v128.load(src + rowBytes * 2), v3 = v128.load(src + rowBytes * 3);
      check = v128.or(check, v128.or(v128.or(f32x4.sub(v0, v0), f32x4.sub(v1, v1)), v128.or(f32x4.sub(v2, v2), f32x4.sub(v3, v3))));
      v128.store(dst, v0);
      v128.store(dst, v1, 16);
      v128.store(dst, v2, 32);
      v128.store(dst, v3, 48);
      src += 16;
      dst += panelBytes;
    }
  }
  for (; f < Fg; f++) {
    let src = w + <usize>f * rowBytes;
    let dst = packed + (<usize>f << 4);
    for (let c0 = 0; c0 < Cg; c0 += 4) {
      const v = v128.load(src);
      check = v128.or(check, f32x4.sub(v, v));
      v128.store(dst, v);
      src += 16;
      dst += panelBytes;
    }
  }
  return !v128.any_true(check);
}
