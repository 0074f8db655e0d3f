// The portable suite in Bun (the npm package `bun`), running the TypeScript suite on the built package; same hash as Node.

import { describe, it, expect } from "vitest";
import { SEED, binary, expectPassed, nodeHash, parseReport, run } from "./harness.ts";

describe("in Bun", () => {
  it("passes the portable suite and reproduces Node's results hash bit for bit", async () => {
    const stdout = await run(binary("bun"), ["test/portable/cli.ts", String(SEED)]);
    const report = parseReport(stdout);
    expect(report.runtime).toMatch(/^Bun /);
    // The shuffle form here (js/core/features.ts), the load form in Node: the same hash, the same bits.
    expect(report.broadcast).toBe("shuffle");
    expectPassed(report);
    expect(report.hash).toBe(await nodeHash());
  });
});
