// conv2dAsync and conv2dBackwardAsync: the same results as their synchronous twins, spread over the worker threads.

import { checkBackward, checkForward, checkSelection, backwardCalls, type Conv2dGradients, type GradientSelection } from "./conv2d.js";
import { outputShape, type Conv2dOptions } from "./geometry.js";
import { Direction } from "./kernels.js";
import { runCalls } from "./schedule.js";
import { Tensor, allocateTensor, pin, runtimeOf, unpin } from "./tensor.js";

// The arguments are checked and the outputs allocated synchronously, so bad input still throws at
// the call; only the computation is awaited. Inputs and outputs are pinned while it runs: a dispose()
// meanwhile takes effect when the call ends, so no worker ever writes into memory given to another
// tensor. With one thread (the default, and wherever threads are missing) the work runs on the
// calling thread and the Promise simply resolves; with threads, the calling thread stays free.

/** conv2d, awaited: out = x ⋆ w + b on the runtime's threads. */
export async function conv2dAsync(x: Tensor, w: Tensor, b: Tensor | null | undefined, options?: Conv2dOptions): Promise<Tensor> {
  const where = "conv2dAsync";
  const runtime = runtimeOf(x, where, "x");
  const { geometry, xAddress, wAddress, bAddress } = checkForward(runtime, x, w, b, options, where);
  const shape = outputShape(geometry);
  const out = allocateTensor(runtime, shape, shape.reduce((p, d) => p * d, 1));
  const used = [x, w, b, out];
  pin(used);
  try {
    await runCalls(runtime, [{
      direction: Direction.FORWARD, geometry, w: wAddress, bias: bAddress, a: xAddress, b: 0, out: out._address, accumulate: false,
    }]);
  } catch (error) {
    out.dispose();
    throw error;
  } finally {
    unpin(used);
  }
  return out;
}

/** conv2dBackward, awaited: dx, dw and db (those selected) on the runtime's threads. */
export async function conv2dBackwardAsync(
  dy: Tensor, x: Tensor, w: Tensor, options?: Conv2dOptions, which?: GradientSelection,
): Promise<Conv2dGradients> {
  const where = "conv2dBackwardAsync";
  const runtime = runtimeOf(dy, where, "dy");
  const { geometry, dyAddress, xAddress, wAddress } = checkBackward(runtime, dy, x, w, options, where);
  const selection = checkSelection(which, where);
  const made: Tensor[] = [];
  try {
    const dx = selection.dx ? allocateTensor(runtime, x.shape, x.size) : null;
    if (dx) made.push(dx);
    const dw = selection.dw ? allocateTensor(runtime, w.shape, w.size) : null;
    if (dw) made.push(dw);
    const db = selection.db ? allocateTensor(runtime, [geometry.outChannels], geometry.outChannels) : null;
    if (db) made.push(db);
    const used = [dy, x, w, ...made];
    pin(used);
    try {
      await runCalls(runtime, backwardCalls(geometry, dyAddress, xAddress, wAddress,
        { dx: dx?._address ?? 0, dw: dw?._address ?? 0, db: db?._address ?? 0 }, false));
    } finally {
      unpin(used);
    }
    return { dx, dw, db };
  } catch (error) {
    for (const t of made) t.dispose();
    throw error;
  }
}
