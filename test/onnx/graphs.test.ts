// Hand-built ONNX graphs of the importer's host-side operators (broadcasting arithmetic between tensors, a DAG with fan-out, concat, softmax, slice, MatMul, auto_pad): forward against onnxruntime-node, backward against centred differences.

import { describe, it, expect, beforeAll } from "vitest";
import * as ort from "onnxruntime-node";
import { init, tensor, scope, type Tensor } from "../../js/index.js";
import { importOnnx } from "../../js/onnx/index.js";
import { encodeModel, TensorProto_DataType, AttributeProto_AttributeType as A } from "../../js/onnx/proto.js";
import { numerical, normError } from "../helpers/centred-difference.js";
import { randomData } from "../helpers/setup.js";
import { scaledError } from "../helpers/torch-fixtures.js";

beforeAll(async () => {
  await init({ simd: "fixed" });
});

type Node = { opType: string; input: string[]; output: string[]; attribute?: object[] };
const ints = (name: string, values: number[]) => ({ name, type: A.INTS, ints: values.map(BigInt) });
const int = (name: string, value: number) => ({ name, type: A.INT, i: BigInt(value) });
const str = (name: string, value: string) => ({ name, type: A.STRING, s: new TextEncoder().encode(value) });
const floats = (name: string, dims: number[], data: Float32Array) => ({ name, dims: dims.map(BigInt), dataType: TensorProto_DataType.FLOAT, rawData: new Uint8Array(data.buffer.slice(0)) });
const int64s = (name: string, data: number[]) => ({ name, dims: [BigInt(data.length)], dataType: TensorProto_DataType.INT64, rawData: new Uint8Array(BigInt64Array.from(data, BigInt).buffer) });

/** A model of these nodes, input "x" and output "y". */
function model(nodes: Node[], initializer: object[] = [], opset = 17): Uint8Array {
  const info = (name: string) => ({ name, type: { value: { case: "tensorType" as const, value: { elemType: TensorProto_DataType.FLOAT } } } });
  return encodeModel({
    irVersion: 8n, opsetImport: [{ domain: "", version: BigInt(opset) }],
    graph: { name: "g", node: nodes.map((n, i) => ({ name: `n${i}`, ...n })) as never, initializer: initializer as never, input: [info("x")], output: [info("y")] },
  });
}

/** onnxruntime-node's output for x. */
async function reference(bytes: Uint8Array, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const out = (await session.run({ x: new ort.Tensor("float32", x, shape) })).y!;
  await session.release();
  return out.data as Float32Array;
}

/**
 * Imports bytes; checks forward against onnxruntime-node, then dL/dx and dL/dθ of L = Σ y·probe
 * against centred differences of the imported model itself (in eval mode, float32, norm-wise).
 * (A step must not straddle a kink of a piecewise-linear op: those are checked one op at a time.)
 */
async function check(bytes: Uint8Array, shape: number[], gradTolerance = 5e-3, step = 1e-2): Promise<void> {
  const m = importOnnx(bytes).eval();
  const xData = randomData(3, shape.reduce((p, d) => p * d, 1));
  const x = tensor(xData, shape);
  const y = m.forward(x);
  expect(scaledError(y.toFloat32Array(), await reference(bytes, xData, shape)), "forward against onnxruntime-node").toBeLessThan(1e-5);
  const probeData = randomData(4, y.size);
  const probe = tensor(probeData, y.shape);
  m.zeroGrad();
  const dx = m.backward(probe);
  const loss = () => {
    const out = m.forward(x).toFloat32Array();
    return out.reduce((s, v, i) => s + v * probeData[i]!, 0);
  };
  const targets: [string, Tensor, Float32Array][] = [["x", x, dx.toFloat32Array()], ...m.parameters().map((p): [string, Tensor, Float32Array] => [p.name, p.value, p.grad.toFloat32Array()])];
  for (const [name, target, analytic] of targets) {
    const numeric = numerical(target, target.toFloat32Array(), () => scope(loss), step);
    expect(normError(analytic, numeric), `d/d${name}`).toBeLessThan(gradTolerance);
  }
  for (const t of [x, y, probe, dx]) t.dispose();
  m.dispose();
}

describe("hand-built graphs: onnxruntime-node's forward, centred differences' gradients", () => {
  it("a squeeze-and-excitation DAG: x feeds five nodes; Mul, Div, Sub, Add between tensors broadcast per channel; Concat; Softmax", async () => {
    const c = floats("c", [1, 3, 1, 1], Float32Array.from([1.5, 2, 3]));
    await check(model([
      { opType: "GlobalAveragePool", input: ["x"], output: ["g"] },
      { opType: "Sigmoid", input: ["g"], output: ["s"] },
      { opType: "Mul", input: ["x", "s"], output: ["m"] },
      { opType: "Add", input: ["s", "c"], output: ["d"] },
      { opType: "Div", input: ["m", "d"], output: ["q"] },
      { opType: "Sub", input: ["q", "g"], output: ["r"] },
      { opType: "Add", input: ["r", "x"], output: ["r2"] },
      { opType: "Concat", input: ["r2", "x", "m"], output: ["k"], attribute: [int("axis", 1)] },
      { opType: "Softmax", input: ["k"], output: ["y"], attribute: [int("axis", 1)] },
    ], [c]), [2, 3, 4, 5]);
  });

  it("Div, Sub and Mul whose second operand carries the gradient: y = (x·x) / (σ(x) + 1) − (2 − x)·σ(x)", async () => {
    const one = floats("one", [1], Float32Array.from([1]));
    const two = floats("two", [1], Float32Array.from([2]));
    await check(model([
      { opType: "Mul", input: ["x", "x"], output: ["sq"] },
      { opType: "Sigmoid", input: ["x"], output: ["s"] },
      { opType: "Add", input: ["s", "one"], output: ["d"] },
      { opType: "Div", input: ["sq", "d"], output: ["q"] },
      { opType: "Sub", input: ["two", "x"], output: ["t"] },
      { opType: "Mul", input: ["t", "s"], output: ["p"] },
      { opType: "Sub", input: ["q", "p"], output: ["y"] },
    ], [one, two]), [2, 3, 4]);
  });

  it("MatMul by a learnt 2-D matrix from a 3-D input, Gemm without transB, Slice with steps, Reshape with 0 and −1", async () => {
    const b = floats("b", [5, 4], randomData(7, 20));
    const w = floats("w", [12, 3], randomData(8, 36));
    const bias = floats("bias", [3], randomData(9, 3));
    await check(model([
      { opType: "Reshape", input: ["x", "shape"], output: ["r"] },
      { opType: "MatMul", input: ["r", "b"], output: ["m"] },
      { opType: "Slice", input: ["m", "starts", "ends", "axes", "steps"], output: ["s"] },
      { opType: "Flatten", input: ["s"], output: ["f"], attribute: [int("axis", 1)] },
      { opType: "Gemm", input: ["f", "w", "bias"], output: ["y"] },
    ], [b, w, bias, int64s("shape", [0, -1, 5]), int64s("starts", [1, 0]), int64s("ends", [100, 4]), int64s("axes", [1, 2]), int64s("steps", [2, 1])]), [2, 3, 10]);
  });

  it("MobileNet's and tf2onnx's operators, one at a time on inputs spread over ±4: Transpose, Pad, Clip (ReLU6), HardSwish, HardSigmoid, ReduceMean", async () => {
    const spread = { opType: "Mul", input: ["x", "four"], output: ["s"] };
    const four = floats("four", [], Float32Array.from([4]));
    const graphs: [Node, object[]][] = [
      [{ opType: "Transpose", input: ["s"], output: ["y"], attribute: [ints("perm", [0, 3, 1, 2])] }, []],
      [{ opType: "Pad", input: ["s", "pads", "padValue"], output: ["y"] }, [int64s("pads", [0, 0, 1, 2, 0, 0, 2, 1]), floats("padValue", [], Float32Array.from([0.25]))]],
      [{ opType: "Clip", input: ["s", "lo", "hi"], output: ["y"] }, [floats("lo", [], Float32Array.from([-0.5])), floats("hi", [], Float32Array.from([0.8]))]],
      [{ opType: "HardSwish", input: ["s"], output: ["y"] }, []],
      [{ opType: "HardSigmoid", input: ["s"], output: ["y"], attribute: [{ name: "alpha", type: A.FLOAT, f: 0.3 }] }, []],
      [{ opType: "ReduceMean", input: ["s"], output: ["y"], attribute: [ints("axes", [1, 3]), int("keepdims", 0)] }, []],
    ];
    // The step, 2e-4 in x and so 8e-4 after the spread, straddles none of the kinks (Clip's −0.5 and 0.8,
    // HardSwish's ±3, HardSigmoid's −5/3 and 5/3) for these inputs: the nearest, 1.7e-3 from −0.5, does
    // for a step of 1e-3.
    for (const [node, initializer] of graphs) await check(model([spread, node], [four, ...initializer]), [2, 5, 6, 3], 5e-3, 2e-4);
  });

  it("those operators together after an NHWC input (forward against onnxruntime-node)", async () => {
    const w = floats("w", [4, 3, 3, 3], randomData(12, 108));
    const bytes = model([
      { opType: "Transpose", input: ["x"], output: ["t"], attribute: [ints("perm", [0, 3, 1, 2])] },
      { opType: "Pad", input: ["t", "pads", "padValue"], output: ["p"] },
      { opType: "Conv", input: ["p", "w"], output: ["c"] },
      { opType: "Clip", input: ["c", "lo", "hi"], output: ["r6"] },
      { opType: "HardSwish", input: ["r6"], output: ["hs"] },
      { opType: "HardSigmoid", input: ["c"], output: ["hg"], attribute: [{ name: "alpha", type: A.FLOAT, f: 0.3 }] },
      { opType: "Mul", input: ["hs", "hg"], output: ["m"] },
      { opType: "ReduceMean", input: ["m"], output: ["y"], attribute: [ints("axes", [2, 3]), int("keepdims", 0)] },
    ], [w, int64s("pads", [0, 0, 1, 2, 0, 0, 2, 1]), floats("padValue", [], Float32Array.from([0.25])),
      floats("lo", [], Float32Array.from([-0.5])), floats("hi", [], Float32Array.from([0.8]))]);
    const m = importOnnx(bytes).eval();
    const data = randomData(5, 180);
    const y = scope(() => m.forward(tensor(data, [2, 5, 6, 3])).toFloat32Array());
    expect(scaledError(y, await reference(bytes, data, [2, 5, 6, 3]))).toBeLessThan(1e-5);
    m.dispose();
  });

  it("Conv with auto_pad SAME_UPPER and SAME_LOWER on an even kernel (the extra pad after, or before)", async () => {
    for (const auto of ["SAME_UPPER", "SAME_LOWER"]) {
      const w = floats("w", [4, 2, 2, 3], randomData(11, 48));
      await check(model([{ opType: "Conv", input: ["x", "w"], output: ["y"], attribute: [str("auto_pad", auto)] }], [w]), [2, 2, 5, 6]);
    }
  });
});
