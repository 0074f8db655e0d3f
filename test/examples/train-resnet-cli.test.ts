// npm run train:resnet as users run it: one line per epoch, the summary lines, the same numbers on 1 and 2 threads, its options checked.

import { describe, it, expect } from "vitest";
import { program } from "../helpers/program.js";

const trainer = program("train-resnet.mjs");

const numbers = (stdout: string) => stdout.split("\n").filter((l) => /^epoch /.test(l)).map((l) => l.match(/loss \S+ +train \S+ +test \S+/)?.[0]);

describe("examples/train-resnet.mjs (npm run train:resnet)", () => {
  it("learns in two short epochs, prints the summary lines, ends with the test accuracy, and gives the same numbers on 1 and 2 threads", async () => {
    const args = ["--epochs", "2", "--train", "640", "--seed", "3"];
    const one = await trainer(...args, "--threads", "1");
    const two = await trainer(...args, "--threads", "2");
    expect(one.code).toBe(0);
    expect(two.code).toBe(0);
    expect(one.stdout).toMatch(/fixed SIMD build, 1 thread,/);
    expect(two.stdout).toMatch(/fixed SIMD build, 2 threads,/);
    const lines = one.stdout.trimEnd().split("\n");
    expect(lines.filter((l) => /^epoch +\d+\/2 /.test(l))).toHaveLength(2);
    expect(one.stdout).toMatch(/training time: \d+\.\d s \(\d+\.\d\d s per epoch; conv forward \d+%, conv backward \d+% of it\)/);
    expect(one.stdout).toContain("77,754 parameters");
    expect(lines.at(-1)).toMatch(/^test accuracy: \d{1,3}\.\d\d%$/);
    // 640 digits, 40 steps: four times the 10 % of guessing, on 2,000 held-out digits (in eval mode: running statistics).
    expect(Number(lines.at(-1)!.match(/(\d+\.\d\d)%/)![1])).toBeGreaterThan(40);
    const losses = numbers(one.stdout).map((n) => Number(n!.match(/loss (\S+)/)![1]));
    expect(losses[1]).toBeLessThan(losses[0]!);
    expect(numbers(two.stdout)).toEqual(numbers(one.stdout));
    expect(two.stdout.trimEnd().split("\n").at(-1)).toBe(lines.at(-1));
  });

  it("answers --help and refuses bad options with exit status 2", async () => {
    const help = await trainer("--help");
    expect(help.code).toBe(0);
    for (const option of ["--epochs", "--batch-size", "--lr", "--shift", "--seed", "--train", "--threads"]) expect(help.stdout).toContain(option);
    const bad = await trainer("--lr=-1");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--lr: expected a number in \(0, 10\), received "-1"/);
    const unknown = await trainer("--lr-decay", "0.5");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--lr-decay/);
  });
});
