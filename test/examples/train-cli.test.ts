// npm start's program as users run it: the gradient-check table, epochs, and the last line "test accuracy: NN.NN%".

import { describe, it, expect } from "vitest";
import { program } from "../helpers/program.js";

const trainer = program("train-mnist.mjs");

describe("examples/train-mnist.mjs (npm start)", () => {
  it("prints the passing gradient-check table, one line per epoch, and ends with the test accuracy", async () => {
    const { code, stdout } = await trainer("--epochs", "2", "--train", "300", "--seed", "5");
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split("\n");
    const table = lines.filter((l) => /^(stride|dilation|groups|depthwise)/.test(l));
    expect(table.length).toBeGreaterThanOrEqual(7);
    for (const row of table) expect(row).toMatch(/ ok$/);
    expect(lines.filter((l) => /^epoch +\d+\/2 /.test(l))).toHaveLength(2);
    expect(stdout).toMatch(/training time: \d+\.\d s .*conv forward \d+%, conv backward \d+%/);
    expect(lines.at(-1)).toMatch(/^test accuracy: \d{1,3}\.\d\d%$/);
  });

  it("trains to the same loss and accuracies, to the last digit, on 1 and 2 threads", async () => {
    const numbers = (stdout: string) => stdout.split("\n").filter((l) => /^epoch /.test(l)).map((l) => l.match(/loss \S+ +train \S+ +test \S+/)?.[0]);
    const one = await trainer("--epochs", "2", "--train", "300", "--seed", "7", "--threads", "1");
    const two = await trainer("--epochs", "2", "--train", "300", "--seed", "7", "--threads", "2");
    expect(one.stdout).toMatch(/fixed SIMD build, 1 thread,/);
    expect(two.stdout).toMatch(/fixed SIMD build, 2 threads,/);
    expect(numbers(one.stdout)).toHaveLength(2);
    expect(numbers(two.stdout)).toEqual(numbers(one.stdout));
    expect(two.stdout.trimEnd().split("\n").at(-1)).toBe(one.stdout.trimEnd().split("\n").at(-1));
  });

  it("answers --help and refuses bad options with exit status 2", async () => {
    const help = await trainer("--help");
    expect(help.code).toBe(0);
    for (const option of ["--epochs", "--batch-size", "--lr", "--seed", "--train", "--threads"]) expect(help.stdout).toContain(option);
    const zero = await trainer("--epochs", "0");
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/--epochs: expected an integer in \[1, 1000\], received "0"/);
    const unknown = await trainer("--epoch", "3");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--epoch/);
    const threads = await trainer("--threads", "many");
    expect(threads.code).toBe(2);
    expect(threads.stderr).toMatch(/--threads: expected an integer in \[1, 256\] or "auto", received "many"/);
  });
});
