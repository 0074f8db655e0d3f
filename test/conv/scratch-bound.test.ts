// Each direction's kernel scratch (the prepared block and every thread's work block) stays within a bound of its largest operand, on the bench's layers, on 1 and 2 threads.

import { describe, it, expect } from "vitest";
import * as api from "../../dist/index.js";
import { convGeometry } from "../../dist/conv/geometry.js";
import { LAYERS, inputShape, layerOptions, weightShape, type BenchLayer } from "../../bench/lib/layers.ts";
import {
  MEMORY_LAYERS, SCRATCH_BOUND, SCRATCH_SLACK_BYTES, largestOperandBytes, phaseAllowanceBytes, weightAllowanceBytes, type ScratchDirection,
} from "../../bench/lib/memory-layers.ts";

// The plan's bytes depend on the geometry alone, so this is exact, not a measurement: a fresh runtime
// per call (the scratch block only grows) and its memoryUsage().scratchBytes after the call. The data
// are zeros: what is measured does not depend on them.
const DIRECTIONS: ScratchDirection[] = ["forward", "dx", "dw", "db"];

async function scratchAfter(layer: BenchLayer, direction: ScratchDirection, threads: number): Promise<number> {
  const runtime = await api.createRuntime({ simd: "fixed", threads });
  try {
    const options = layerOptions(layer);
    const g = convGeometry(inputShape(layer), weightShape(layer), options, "test");
    const x = api.zeros(inputShape(layer), runtime), w = api.zeros(weightShape(layer), runtime), b = api.zeros([layer.F], runtime);
    const dy = api.zeros([g.batch, g.outChannels, g.outHeight, g.outWidth], runtime);
    const made = direction === "forward" ? [api.conv2d(x, w, b, options)]
      : Object.values(api.conv2dBackward(dy, x, w, options, { dx: direction === "dx", dw: direction === "dw", db: direction === "db" }));
    const bytes = runtime.memoryUsage().scratchBytes;
    for (const t of [x, w, b, dy, ...made]) t?.dispose();
    return bytes;
  } finally {
    runtime.terminate();
  }
}

describe.each([1, 2])("kernel scratch on %i thread(s)", (threads) => {
  it.each([...LAYERS, ...MEMORY_LAYERS].map((l) => [l.name, l] as const))(
    `%s: every direction within ${SCRATCH_BOUND}× its largest operand (plus the packed weights and their kept copy where the weights are the largest)`,
    async (_, layer) => {
      const g = convGeometry(inputShape(layer), weightShape(layer), layerOptions(layer), "test");
      for (const direction of DIRECTIONS) {
        const scratch = await scratchAfter(layer, direction, threads);
        const weights = 4 * g.outChannels * (g.inChannels / g.groups) * g.kernelHeight * g.kernelWidth;
        // The sync API runs the calling thread beside threads − 1 workers… and each worker's block: threads + 1 blocks past one thread.
        const copy = weightAllowanceBytes(layer.name, direction, weights) + phaseAllowanceBytes(layer, direction, threads === 1 ? 1 : threads + 1);
        const bound = SCRATCH_BOUND * largestOperandBytes(g, direction) + SCRATCH_SLACK_BYTES + copy;
        expect(scratch, `${layer.name} ${direction}: ${scratch} bytes of scratch`).toBeLessThanOrEqual(bound);
      }
    },
    60_000,
  );
});
