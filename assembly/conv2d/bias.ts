// Bias forward and backward side by side: out[f, p] = b[f] before the GEMM adds onto it; db[f] = Σ_{n,p} dy[n, f, p].

import { ConvGeometry } from "../geometry";

// rows × columns block starting at out (row stride = columns), each row filled with its bias value.
export function broadcastBias(out: usize, bias: usize, rows: i32, columns: i32): void {
  for (let r = 0; r < rows; r++) {
    const value = load<f32>(bias + (<usize>r << 2));
    const splat = f32x4.splat(value);
    const row = out + (<usize>r * <usize>columns << 2);
    let j = 0;
    for (; j + 4 <= columns; j += 4) v128.store(row + (<usize>j << 2), splat);
    for (; j < columns; j++) store<f32>(row + (<usize>j << 2), value);
  }
}

// dy is (batch, channels, positions); four lanes of partial sums per channel, summed pairwise at the end.
export function reduceBias(dy: usize, db: usize, batch: i32, channels: i32, positions: i32, accumulate: bool): void {
  const planeBytes = <usize>positions << 2;
  const vectorEnd = positions & ~3;
  for (let f = 0; f < channels; f++) {
    let lanes = f32x4.splat(0);
    let tail: f32 = 0;
    for (let n = 0; n < batch; n++) {
      const plane = dy + (<usize>n * <usize>channels + <usize>f) * planeBytes;
      let j = 0;
      for (; j < vectorEnd; j += 4) lanes = f32x4.add(lanes, v128.load(plane + (<usize>j << 2)));
      for (; j < positions; j++) tail += load<f32>(plane + (<usize>j << 2));
    }
    const sum = (f32x4.extract_lane(lanes, 0) + f32x4.extract_lane(lanes, 1))
      + (f32x4.extract_lane(lanes, 2) + f32x4.extract_lane(lanes, 3)) + tail;
    const target = db + (<usize>f << 2);
    store<f32>(target, accumulate ? load<f32>(target) + sum : sum);
  }
}

// db[f] (+)= Σ_{n,i,j} dy[n,f,i,j] for the geometry's N, F and Ho·Wo.
export function conv2dBackwardBias(geometry: usize, dy: usize, db: usize, accumulate: bool): void {
  const g = changetype<ConvGeometry>(geometry);
  reduceBias(dy, db, g.batch, g.outChannels, g.outHeight * g.outWidth, accumulate);
}
