// How many output rows a task takes: few enough that a call has tasks to spread, many enough to keep each worth a thread.

import { ConvGeometry } from "../geometry";

/**
 * Tasks a call is cut into at least, where the layer allows: with two threads a late or slow one
 * (a worker wakes tens of microseconds after the call starts) then costs a small task, not a large
 * one. Task sizes depend on the geometry alone, never on the thread count, so results stay the same.
 * The dx scatter asks for half as many: its bands overlap by the kernel's height, so thinner bands
 * mean more to zero and to add up (at a quarter of them, L4's dx lost 8 % on one thread).
 */
export const MIN_TASKS: f64 = 24;

/**
 * Output rows per band: bands of about `pixels` output pixels, cut smaller while the call has fewer
 * than `minTasks` tasks (`perBand` tasks per band, over images, groups and filter runs).
 */
export function bandRowsFor(g: ConvGeometry, pixels: i32, perBand: i32, minTasks: f64): i32 {
  const bySize = max(1, (pixels + g.outWidth - 1) / g.outWidth);
  const byCount = <i32>max(1, Math.floor(<f64>perBand * <f64>g.outHeight / minTasks));
  return min(bySize, byCount);
}
