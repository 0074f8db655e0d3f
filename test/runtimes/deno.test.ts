// The portable suite in Deno (the npm package `deno`), running the TypeScript suite on the built package; same hash as Node.

import { describe, it, expect } from "vitest";
import { SEED, binary, expectPassed, nodeHash, parseReport, run } from "./harness.ts";

describe("in Deno", () => {
  it("passes the portable suite and reproduces Node's results hash bit for bit", async () => {
    const stdout = await run(binary("deno"), ["run", "--no-lock", "--allow-read", "test/portable/cli.ts", String(SEED)], {
      DENO_NO_UPDATE_CHECK: "1",
    });
    const report = parseReport(stdout);
    expect(report.runtime).toMatch(/^Deno /);
    // The shuffle form here (js/core/features.ts), the load form in Node: the same hash, the same bits.
    expect(report.broadcast).toBe("shuffle");
    expectPassed(report);
    expect(report.hash).toBe(await nodeHash());
  });
});
