// npm start --save and --onnx: the trained LeNet, saved as safetensors, loads into PyTorch's network and, exported as ONNX, runs in onnxruntime-node and -web, all with this library's predictions on the 2,000 test digits.

import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ortNode from "onnxruntime-node";
import * as ortWeb from "onnxruntime-web";
import { init, tensor, scope, loadSafetensors } from "wasm-conv2d";
import { splitDigits, PIXELS, IMAGE_SIZE } from "../../examples/mnist/data.mjs";
import { loadDigitsNode } from "../../examples/mnist/load-node.mjs";
import { leNet } from "../../examples/mnist/lenet.mjs";
import { program } from "../helpers/program.js";

ortWeb.env.wasm.numThreads = 1;
const trainer = program("train-mnist.mjs");
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PYTHON = "/usr/bin/python3";
const hasTorch = spawnSync(PYTHON, ["-c", "import torch"], { stdio: "ignore" }).status === 0;

let dir: string;
let stdout: string;
let test: ReturnType<typeof splitDigits>["test"];
/** This library's logits for the 2,000 test digits, from the saved weights. */
let logits: Float32Array;

beforeAll(async () => {
  await init({ simd: "fixed" });
  dir = mkdtempSync(join(tmpdir(), "model-files-"));
  const run = await trainer("--epochs", "1", "--train", "1500", "--seed", "3", "--save", join(dir, "lenet.safetensors"), "--onnx", join(dir, "lenet.onnx"));
  expect(run.code, run.stderr).toBe(0);
  stdout = run.stdout;
  test = splitDigits(loadDigitsNode()).test;
  const model = leNet(1);
  model.loadStateDict(loadSafetensors(readFileSync(join(dir, "lenet.safetensors"))));
  model.eval();
  logits = scope(() => model.forward(tensor(test.images, [test.count, 1, IMAGE_SIZE, IMAGE_SIZE])).toFloat32Array());
  model.dispose();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The class of each row of [N, 10] logits. */
const argmax = (rows: ArrayLike<number>) => Array.from({ length: rows.length / 10 }, (_, n) => {
  let best = 0;
  for (let k = 1; k < 10; k++) if (rows[n * 10 + k]! > rows[n * 10 + best]!) best = k;
  return best;
});

/** Predictions that differ from ours only where our two best logits are within float32 noise of each other. */
function expectSamePredictions(theirs: readonly number[], what: string): void {
  const ours = argmax(logits);
  expect(theirs.length, what).toBe(ours.length);
  const differ = ours.flatMap((p, n) => (p === theirs[n] ? [] : [n]));
  for (const n of differ) {
    const row = Array.from(logits.subarray(n * 10, n * 10 + 10)).sort((a, b) => b - a);
    expect(row[0]! - row[1]!, `${what}: digit ${n}, predicted ${theirs[n]} where this library says ${ours[n]}`).toBeLessThan(1e-4);
  }
}

describe("npm start --save FILE --onnx FILE", () => {
  it("says where it saved both files, and its accuracy is the saved weights' accuracy", () => {
    expect(stdout).toMatch(/saved the weights to .*lenet\.safetensors \(safetensors\)/);
    expect(stdout).toMatch(/saved the network to .*lenet\.onnx \(ONNX\)/);
    const printed = Number(stdout.trimEnd().split("\n").at(-1)!.match(/test accuracy: (\d+\.\d+)%/)![1]);
    const correct = argmax(logits).filter((p, n) => p === test.labels[n]).length;
    expect(printed).toBeCloseTo((100 * correct) / test.count, 2);
    expect(printed).toBeGreaterThan(80);
  });

  it.skipIf(!hasTorch)("the safetensors file loads into PyTorch's LeNet with load_state_dict(strict=True) and gives the same predictions", () => {
    const run = spawnSync(PYTHON, [join(ROOT, "tools/torch/check_state_dict.py"), join(dir, "lenet.safetensors")], { cwd: ROOT, encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    expectSamePredictions(JSON.parse(run.stdout).predictions, "PyTorch");
  });
  if (!hasTorch) it("(PyTorch's half is skipped: /usr/bin/python3 has no torch; apt-get install python3-torch to run it)", () => {});

  it("the ONNX file gives the same predictions in onnxruntime-node and onnxruntime-web", async () => {
    const bytes = readFileSync(join(dir, "lenet.onnx"));
    const x = test.images.slice(0, test.count * PIXELS);
    const node = await ortNode.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    const nodeOut = Object.values(await node.run({ input: new ortNode.Tensor("float32", x, [test.count, 1, 28, 28]) }))[0]!;
    expectSamePredictions(argmax(nodeOut.data as Float32Array), "onnxruntime-node");
    await node.release();
    const web = await ortWeb.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
    const webOut = Object.values(await web.run({ input: new ortWeb.Tensor("float32", x, [test.count, 1, 28, 28]) }))[0]!;
    expectSamePredictions(argmax(webOut.data as Float32Array), "onnxruntime-web");
    await web.release();
  });
});
