// db[f] = Σ_{n,p} dy[n, f, p], the bias gradient (the forward adds b[f] inside the GEMM tile, forward.ts).

import { ConvGeometry } from "../geometry";

/** Filters per db task: few, so that a layer of 8 or 16 filters still makes tasks for every thread. */
const BIAS_CHUNK = 4;

export function dbTasks(g: ConvGeometry): i32 {
  return (g.outChannels + BIAS_CHUNK - 1) / BIAS_CHUNK;
}

/**
 * db[f] (+)= Σ_{n,i,j} dy[n,f,i,j] for the filters of tasks [t0, t1): four lanes of partial sums per
 * filter over the batch, summed pairwise at the end, so each db[f] has one fixed order.
 */
export function dbRun(g: ConvGeometry, dy: usize, db: usize, accumulate: bool, t0: i32, t1: i32): void {
  const positions = g.outHeight * g.outWidth;
  const planeBytes = <usize>positions << 2;
  const vectorEnd = positions & ~3;
  const fEnd = min(g.outChannels, t1 * BIAS_CHUNK);
  for (let f = t0 * BIAS_CHUNK; f < fEnd; f++) {
    let lanes = f32x4.splat(0);
    let tail: f32 = 0;
    for (let n = 0; n < g.batch; n++) {
      const plane = dy + (<usize>n * <usize>g.outChannels + <usize>f) * planeBytes;
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
