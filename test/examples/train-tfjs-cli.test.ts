// npm run tfjs as users run it: model.fit on tfjs's wasm backend with the plugin learns MNIST in a short run, prints its epoch and summary lines, and refuses bad options.

import { describe, it, expect } from "vitest";
import { program } from "../helpers/program.js";

const trainer = program("train-tfjs.mjs");

describe("examples/train-tfjs.mjs (npm run tfjs)", () => {
  it("trains with model.fit on tfjs's wasm backend: one line per epoch with its seconds, then the test accuracy, well above chance", async () => {
    const { code, stdout, stderr } = await trainer("--epochs", "2", "--train", "1000", "--threads", "1");
    expect(stderr).not.toMatch(/not registered/);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^TensorFlow\.js 4\.\d+\.\d+ on its "wasm" backend; wasm-conv2d's kernels for wasm and cpu \(\w+ SIMD build, 1 thread\)/);
    const lines = stdout.trimEnd().split("\n");
    const epochs = lines.filter((l) => /^epoch +\d+\/2 /.test(l));
    expect(epochs).toHaveLength(2);
    for (const line of epochs) expect(line).toMatch(/^epoch +\d\/2 {2}loss \d+\.\d{4} {2}test \d{1,3}\.\d\d% {2}\d+\.\d\d s$/);
    const losses = epochs.map((l) => Number(l.match(/loss (\S+)/)![1]));
    const seconds = epochs.map((l) => Number(l.match(/ (\d+\.\d\d) s$/)![1]));
    for (const s of seconds) expect(s).toBeGreaterThan(0);
    // The softmax starts near ln 10 ≈ 2.30; the second pass over the same digits lowers it.
    expect(losses[0]).toBeLessThan(2.3);
    expect(losses[1]).toBeLessThan(losses[0]!);
    expect(stdout).toMatch(/training time: \d+\.\d s \(\d+\.\d\d s per epoch\)/);
    expect(lines.at(-1)).toMatch(/^test accuracy: \d{1,3}\.\d\d%$/);
    // 1,000 digits, 2 × 32 steps: measured 88.2 % (seed 1) and 87.0 % (seed 2) on the 2,000 held-out digits; 10 % is guessing.
    expect(Number(lines.at(-1)!.match(/(\d+\.\d\d)%/)![1])).toBeGreaterThan(80);
  });

  it("--json prints one JSON summary: the same run, and no tensor or plugin memory left over", async () => {
    const { code, stdout } = await trainer("--epochs", "1", "--train", "640", "--threads", "1", "--json");
    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({ backend: "wasm", threads: 1, epochs: 1, trainSize: 640, batchSize: 32, leftOver: { tfjsTensors: 0, wasmConv2dBytes: 0 } });
    expect(summary.history).toHaveLength(1);
    expect(summary.history[0].seconds).toBeGreaterThan(0);
    expect(summary.testAccuracy).toBe(summary.history[0].testAccuracy);
    // 20 steps: measured 71.7 % (seed 1) and 65.3 % (seed 2); 10 % is guessing.
    expect(summary.testAccuracy).toBeGreaterThan(0.4);
    expect(summary.testAccuracy).toBeLessThanOrEqual(1);
  });

  it("answers --help and refuses bad options with exit status 2 and a message", async () => {
    const help = await trainer("--help");
    expect(help.code).toBe(0);
    for (const option of ["--epochs", "--batch-size", "--lr", "--seed", "--train", "--threads", "--backend", "--json"]) expect(help.stdout).toContain(option);
    const zero = await trainer("--epochs", "0");
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/--epochs: expected an integer in \[1, 1000\], received "0"/);
    const backend = await trainer("--backend", "webgl");
    expect(backend.code).toBe(2);
    expect(backend.stderr).toMatch(/--backend: expected "wasm" or "cpu", received "webgl"/);
    const threads = await trainer("--threads", "many");
    expect(threads.code).toBe(2);
    expect(threads.stderr).toMatch(/--threads: expected an integer in \[1, 256\] or "auto", received "many"/);
    const unknown = await trainer("--epoch", "3");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--epoch/);
    expect(unknown.stdout).toBe("");
  });
});
