// y[p,i,j] = max(x[p,2i,2j], x[p,2i,2j+1], x[p,2i+1,2j], x[p,2i+1,2j+1]); dx gets dy[p,i,j] at the argmax only; and the same after a ReLU, in one pass.

// Backward recomputes the argmax from x instead of storing indices: one more read of x, no index
// buffer to own. Both directions pick by the same rule, PyTorch's: the window is scanned row by row
// and a value replaces the best so far when it is greater or NaN, so on ties the first maximum wins
// and a NaN wins over numbers. Floor mode: an odd last row or column is never read (its dx is 0).
//
// ReLU fused in (maxPool(relu(x)), a ReLU layer followed by this one): the ReLU's output never exists,
// which saves its pass over the (four times larger) input each way. The bits are those of the two
// passes: relu is monotone, so maxPool(relu(x)) = relu(maxPool(x)) (NaN stays NaN; a window of
// non-positive values gives +0 either way); backward, where the window's maximum is positive it is
// at the same first position in x as in relu(x), and where it is not (or is NaN) the ReLU's gradient
// is 0 at every position of the window, so dy goes through exactly where x at the argmax is > 0.

// Where pick() found the maxima: 0–3 per lane (a global, since a function returns one value; it lives in a register).
let pickedIndex: v128 = i32x4(0, 0, 0, 0);

// Scans the four candidates (top-left, top-right, bottom-left, bottom-right) of four windows at once;
// returns the maxima and leaves their positions in pickedIndex.
@inline function pick(tl: v128, tr: v128, bl: v128, br: v128): v128 {
  let best = tl;
  let index = i32x4.splat(0);
  let take = v128.or(f32x4.gt(tr, best), f32x4.ne(tr, tr));
  best = v128.bitselect(tr, best, take);
  index = v128.bitselect(i32x4.splat(1), index, take);
  take = v128.or(f32x4.gt(bl, best), f32x4.ne(bl, bl));
  best = v128.bitselect(bl, best, take);
  index = v128.bitselect(i32x4.splat(2), index, take);
  take = v128.or(f32x4.gt(br, best), f32x4.ne(br, br));
  best = v128.bitselect(br, best, take);
  index = v128.bitselect(i32x4.splat(3), index, take);
  pickedIndex = index;
  return best;
}

// The same rule for one window, for the scalar tail.
@inline function pickOne(tl: f32, tr: f32, bl: f32, br: f32): i32 {
  let best = tl, index = 0;
  if (tr > best || tr != tr) { best = tr; index = 1; }
  if (bl > best || bl != bl) { best = bl; index = 2; }
  if (br > best || br != br) { best = br; index = 3; }
  return index;
}

// x is (planes, H, W), y is (planes, ⌊H/2⌋, ⌊W/2⌋); planes = N·C.
export function maxPool2x2Forward(x: usize, y: usize, planes: i32, H: i32, W: i32): void {
  poolForward(x, y, planes, H, W, false);
}

// y = maxPool2x2(relu(x)), as maxPool2x2Forward.
export function reluMaxPool2x2Forward(x: usize, y: usize, planes: i32, H: i32, W: i32): void {
  poolForward(x, y, planes, H, W, true);
}

// dx (planes, H, W) is fully written: dy at each window's argmax, 0 elsewhere.
export function maxPool2x2Backward(x: usize, dy: usize, dx: usize, planes: i32, H: i32, W: i32): void {
  poolBackward(x, dy, dx, planes, H, W, false);
}

// The gradient through maxPool2x2(relu(x)): dy at each window's argmax where x there is > 0, 0 elsewhere.
export function reluMaxPool2x2Backward(x: usize, dy: usize, dx: usize, planes: i32, H: i32, W: i32): void {
  poolBackward(x, dy, dx, planes, H, W, true);
}

// relu is a constant at each call site: each export compiles to its own loop, without the test.
@inline function poolForward(x: usize, y: usize, planes: i32, H: i32, W: i32, relu: bool): void {
  const zero = f32x4.splat(0);
  const outHeight = H >> 1, outWidth = W >> 1;
  const rowBytes = <usize>W << 2;
  for (let p = 0; p < planes; p++) {
    const plane = x + <usize>p * <usize>H * rowBytes;
    for (let i = 0; i < outHeight; i++) {
      const top = plane + <usize>(2 * i) * rowBytes;
      const bottom = top + rowBytes;
      const out = y + ((<usize>(p * outHeight + i) * <usize>outWidth) << 2);
      let j = 0;
      for (; j + 4 <= outWidth; j += 4) {
        const o = <usize>j << 3;
        const t0 = v128.load(top + o), t1 = v128.load(top + o, 16);
        const b0 = v128.load(bottom + o), b1 = v128.load(bottom + o, 16);
        const best = pick(
          v128.shuffle<f32>(t0, t1, 0, 2, 4, 6), v128.shuffle<f32>(t0, t1, 1, 3, 5, 7),
          v128.shuffle<f32>(b0, b1, 0, 2, 4, 6), v128.shuffle<f32>(b0, b1, 1, 3, 5, 7),
        );
        v128.store(out + (<usize>j << 2), relu ? f32x4.max(best, zero) : best);
      }
      for (; j < outWidth; j++) {
        const o = <usize>j << 3;
        const tl = load<f32>(top + o), tr = load<f32>(top + o, 4);
        const bl = load<f32>(bottom + o), br = load<f32>(bottom + o, 4);
        const index = pickOne(tl, tr, bl, br);
        const best = index == 0 ? tl : index == 1 ? tr : index == 2 ? bl : br;
        store<f32>(out + (<usize>j << 2), relu ? max<f32>(best, 0) : best);
      }
    }
  }
}

@inline function poolBackward(x: usize, dy: usize, dx: usize, planes: i32, H: i32, W: i32, relu: bool): void {
  const outHeight = H >> 1, outWidth = W >> 1;
  const rowBytes = <usize>W << 2;
  const zero = f32x4.splat(0);
  for (let p = 0; p < planes; p++) {
    const plane = x + <usize>p * <usize>H * rowBytes;
    const dplane = dx + <usize>p * <usize>H * rowBytes;
    for (let i = 0; i < outHeight; i++) {
      const top = plane + <usize>(2 * i) * rowBytes;
      const bottom = top + rowBytes;
      const dtop = dplane + <usize>(2 * i) * rowBytes;
      const dbottom = dtop + rowBytes;
      const grad = dy + ((<usize>(p * outHeight + i) * <usize>outWidth) << 2);
      let j = 0;
      for (; j + 4 <= outWidth; j += 4) {
        const o = <usize>j << 3;
        const t0 = v128.load(top + o), t1 = v128.load(top + o, 16);
        const b0 = v128.load(bottom + o), b1 = v128.load(bottom + o, 16);
        const best = pick(
          v128.shuffle<f32>(t0, t1, 0, 2, 4, 6), v128.shuffle<f32>(t0, t1, 1, 3, 5, 7),
          v128.shuffle<f32>(b0, b1, 0, 2, 4, 6), v128.shuffle<f32>(b0, b1, 1, 3, 5, 7),
        );
        const which = pickedIndex;
        let g = v128.load(grad + (<usize>j << 2));
        if (relu) g = v128.and(g, f32x4.gt(best, zero));
        const gtl = v128.and(g, i32x4.eq(which, i32x4.splat(0)));
        const gtr = v128.and(g, i32x4.eq(which, i32x4.splat(1)));
        const gbl = v128.and(g, i32x4.eq(which, i32x4.splat(2)));
        const gbr = v128.and(g, i32x4.eq(which, i32x4.splat(3)));
        // Interleave left and right columns back into rows: (l0 r0 l1 r1) (l2 r2 l3 r3).
        v128.store(dtop + o, v128.shuffle<f32>(gtl, gtr, 0, 4, 1, 5));
        v128.store(dtop + o, v128.shuffle<f32>(gtl, gtr, 2, 6, 3, 7), 16);
        v128.store(dbottom + o, v128.shuffle<f32>(gbl, gbr, 0, 4, 1, 5));
        v128.store(dbottom + o, v128.shuffle<f32>(gbl, gbr, 2, 6, 3, 7), 16);
      }
      for (; j < outWidth; j++) {
        const o = <usize>j << 3;
        const tl = load<f32>(top + o), tr = load<f32>(top + o, 4);
        const bl = load<f32>(bottom + o), br = load<f32>(bottom + o, 4);
        const index = pickOne(tl, tr, bl, br);
        const best = index == 0 ? tl : index == 1 ? tr : index == 2 ? bl : br;
        const g: f32 = relu && !(best > 0) ? 0 : load<f32>(grad + (<usize>j << 2));
        store<f32>(dtop + o, index == 0 ? g : 0);
        store<f32>(dtop + o, index == 1 ? g : 0, 4);
        store<f32>(dbottom + o, index == 2 ? g : 0);
        store<f32>(dbottom + o, index == 3 ? g : 0, 4);
      }
      if (W & 1) {
        store<f32>(dtop + ((<usize>W - 1) << 2), 0);
        store<f32>(dbottom + ((<usize>W - 1) << 2), 0);
      }
    }
    if (H & 1) {
      const last = dplane + <usize>(H - 1) * rowBytes;
      let j = 0;
      for (; j + 4 <= W; j += 4) v128.store(last + (<usize>j << 2), zero);
      for (; j < W; j++) store<f32>(last + (<usize>j << 2), 0);
    }
  }
}
