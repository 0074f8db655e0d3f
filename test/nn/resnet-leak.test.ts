// 10,000 training steps of a ResNet block (batch norm, residual, dropout, transposed conv, pooling) leave bytes in use and the memory size unchanged.

import { describe, it, expect } from "vitest";
import * as api from "../../js/index.js";
import { BUILDS, initBuild } from "../helpers/builds.js";
import { resnetBlockNoLeak } from "../portable/layers.js";

describe.each(BUILDS)("the %s build", (build) => {
  it("10,000 steps of a ResNet block leak nothing", async () => {
    const runtime = await initBuild(build);
    expect(resnetBlockNoLeak(api as never, runtime as never, 10_000)).toBeNull();
  });
});
