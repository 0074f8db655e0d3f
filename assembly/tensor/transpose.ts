// dst[b, c, r] = src[b, r, c]: a batch of row-major matrices transposed — the layout changes (NHWC ↔ NCHW, HWIO ↔ OIHW) of the TensorFlow.js plugin.

// 4×4 blocks go through registers (two rounds of shuffles), whole vectors in and out; the rows and
// columns past the last full block are moved one float at a time. src and dst must not overlap.
export function transposeBatched(src: usize, dst: usize, batch: i32, rows: i32, cols: i32): void {
  const plane = <usize>rows * <usize>cols << 2;
  const rowBytes = <usize>cols << 2;
  const colBytes = <usize>rows << 2;
  const fullRows = rows & ~3, fullCols = cols & ~3;
  for (let n = 0; n < batch; n++) {
    const s = src + <usize>n * plane, d = dst + <usize>n * plane;
    for (let r = 0; r < fullRows; r += 4) {
      const sRow = s + <usize>r * rowBytes;
      const dCol = d + (<usize>r << 2);
      for (let c = 0; c < fullCols; c += 4) {
        const p = sRow + (<usize>c << 2);
        const r0 = v128.load(p), r1 = v128.load(p + rowBytes);
        const r2 = v128.load(p + rowBytes * 2), r3 = v128.load(p + rowBytes * 3);
        const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
        const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
        const q = dCol + <usize>c * colBytes;
        v128.store(q, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
        v128.store(q + colBytes, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
        v128.store(q + colBytes * 2, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
        v128.store(q + colBytes * 3, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
      }
      for (let c = fullCols; c < cols; c++) {
        const p = sRow + (<usize>c << 2), q = dCol + <usize>c * colBytes;
        store<f32>(q, load<f32>(p));
        store<f32>(q, load<f32>(p + rowBytes), 4);
        store<f32>(q, load<f32>(p + rowBytes * 2), 8);
        store<f32>(q, load<f32>(p + rowBytes * 3), 12);
      }
    }
    for (let r = fullRows; r < rows; r++) {
      const sRow = s + <usize>r * rowBytes, dCol = d + (<usize>r << 2);
      for (let c = 0; c < cols; c++) store<f32>(dCol + <usize>c * colBytes, load<f32>(sRow + (<usize>c << 2)));
    }
  }
}
