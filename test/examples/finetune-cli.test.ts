// npm run finetune as users run it: PyTorch's exported LeNet imported, tested, fine-tuned past 80 %, and saved as files that load back.

import { describe, it, expect, afterAll } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { init, loadSafetensors } from "wasm-conv2d";
import { importOnnx } from "wasm-conv2d/onnx";
import { program } from "../helpers/program.js";

const finetune = program("finetune.mjs");
const dir = mkdtempSync(join(tmpdir(), "finetune-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("examples/finetune.mjs (npm run finetune)", () => {
  it("tests the imported model before (PyTorch's random LeNet: near chance) and after fine-tuning (well above), and saves it", async () => {
    const run = await finetune("--epochs", "1", "--train", "2000", "--threads", "1", "--save", join(dir, "t.safetensors"), "--onnx", join(dir, "t.onnx"));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/imported .*lenet\.onnx: OnnxModel\(\d+ nodes\), 6 parameter tensors \(11274 values\)/);
    const before = Number(run.stdout.match(/before fine-tuning: test accuracy (\d+\.\d\d)%/)![1]);
    const after = Number(run.stdout.trimEnd().split("\n").at(-1)!.match(/^test accuracy: (\d+\.\d\d)%$/)![1]);
    // PyTorch's LeNet with its initial weights, as PyTorch evaluates it on these digits (test/fixtures/models/README.md).
    expect(before).toBe(15.65);
    expect(after).toBeGreaterThan(80);
    await init({ simd: "fixed" });
    // The saved weights have the ONNX initializers' names (PyTorch's); the saved model imports again with them.
    expect(Object.keys(loadSafetensors(readFileSync(join(dir, "t.safetensors")))).sort()).toEqual(["0.bias", "0.weight", "3.bias", "3.weight", "7.bias", "7.weight"]);
    const again = importOnnx(readFileSync(join(dir, "t.onnx")));
    expect(again.parameters().map((p) => p.name).sort()).toEqual(["0.bias", "0.weight", "3.bias", "3.weight", "7.bias", "7.weight"]);
    again.dispose();
  });

  it("refuses a file that is not ONNX with the importer's message and exit status 1", async () => {
    const run = await finetune("--model", join(dir, "t.safetensors"), "--epochs", "1");
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/importOnnx: bytes: expected an ONNX ModelProto/);
  });
});
