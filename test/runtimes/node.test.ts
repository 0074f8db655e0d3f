// The portable suite in Node, on the built package (dist/), as the other runtimes run it.

import { describe, it, expect } from "vitest";
import * as api from "../../dist/index.js";
import { runPortableSuite } from "../portable/suite.ts";
import { SEED, expectPassed, nodeHash, nodeModels } from "./harness.ts";

describe("in Node", () => {
  it("passes the portable suite (500 reference configurations, gradcheck, errors, memory growth, model files)", async () => {
    const report = await runPortableSuite(api, { seed: SEED, models: await nodeModels() });
    expect(report.runtime).toMatch(/^Node /);
    expect(report.broadcast).toBe("load");
    expectPassed(report);
  });

  it("gives the same results hash twice in one process (deterministic, so comparing across runtimes means something)", async () => {
    expect(await nodeHash()).toBe(await nodeHash());
  });
});
