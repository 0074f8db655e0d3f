// A short LeNet training on real MNIST digits: the loss goes down, accuracy beats chance, the same seed gives the same run.

import { describe, it, expect, beforeAll } from "vitest";
import { init } from "wasm-conv2d";
import { splitDigits, PIXELS } from "../../examples/mnist/data.mjs";
import { loadDigitsNode } from "../../examples/mnist/load-node.mjs";
import { train } from "../../examples/mnist/lenet.mjs";

// The examples import the package by its name, as users do, so this file does too (the built dist/).
let data: ReturnType<typeof splitDigits>;
beforeAll(async () => {
  await init({ simd: "fixed" });
  data = splitDigits(loadDigitsNode());
});

const short = { epochs: 2, trainSize: 400, batchSize: 20, lr: 3e-3 };

describe("training LeNet on MNIST", () => {
  it("splits the package's 10,000 digits into 8,000 and 2,000, with no image in both", () => {
    expect(data.train.count).toBe(8000);
    expect(data.test.count).toBe(2000);
    expect(data.train.images.length).toBe(8000 * PIXELS);
    const counts = new Array(10).fill(0);
    for (const label of data.test.labels) counts[label]++;
    // A seeded shuffle of all ten digits: every class is in the test set, roughly a tenth each.
    expect(Math.min(...counts)).toBeGreaterThan(150);
    const key = (set: typeof data.train, i: number) => set.images.subarray(i * PIXELS, (i + 1) * PIXELS).join(",");
    const trainKeys = new Set(Array.from({ length: 8000 }, (_, i) => key(data.train, i)));
    expect(trainKeys.size).toBe(8000);
    const shared = Array.from({ length: 2000 }, (_, i) => key(data.test, i)).filter((k) => trainKeys.has(k));
    expect(shared).toEqual([]);
  });

  it("lowers the loss and raises accuracy in two short epochs; the same seed gives the same losses", () => {
    const losses: number[] = [];
    const first = train(data, { ...short, seed: 3 }, { onBatch: ({ loss }) => losses.push(loss) });
    first.model.dispose();
    const [epoch1, epoch2] = first.history;
    expect(epoch2!.loss).toBeLessThan(epoch1!.loss);
    expect(epoch2!.testAccuracy).toBeGreaterThan(epoch1!.testAccuracy);
    // 400 digits, 40 steps: far above the 10 % of guessing.
    expect(epoch2!.testAccuracy).toBeGreaterThan(0.6);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-10))).toBeLessThan(mean(losses.slice(0, 10)) / 2);

    const again: number[] = [];
    const second = train(data, { ...short, seed: 3 }, { onBatch: ({ loss }) => again.push(loss) });
    second.model.dispose();
    expect(again).toEqual(losses);
    expect(second.history.map((r) => r.testAccuracy)).toEqual(first.history.map((r) => r.testAccuracy));

    const other: number[] = [];
    train(data, { ...short, seed: 4, epochs: 1 }, { onBatch: ({ loss }) => other.push(loss) }).model.dispose();
    expect(other).not.toEqual(losses.slice(0, other.length));
  });
});
