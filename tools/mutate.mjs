// The mutation pass: puts one small, plausible bug at a time into the code a change touched, runs the tests, and reports which bugs no test caught.

// node tools/mutate.mjs [--only name,name] [--tests "test/core test/conv …"] [--list]
// Each mutant is a (file, text, replacement) triple that must match exactly once. The tree is restored
// and rebuilt after each one, also when the run is interrupted. Add mutants here for each kernel path
// or scheduling rule a change touches, and quote the report in the closing note.

import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** [name, file, text, replacement]. */
export const MUTANTS = [
  // assembly/conv2d/plan.ts: the one place a path is chosen.
  ["plan: thin depthwise forward taken for any depthwise layer", "assembly/conv2d/plan.ts",
    "    if (isThinDepthwise(g)) return FORWARD_DEPTHWISE;", "    if (isDepthwise(g)) return FORWARD_DEPTHWISE;"],
  ["plan: no fallback from the full correlation for non-finite weights", "assembly/conv2d/plan.ts",
    "if (path == DX_FULL || path == DX_WINOGRAD || path == DX_DIRECT) return DX_SCATTER;",
    "if (path == DX_FULL) return DX_FULL;\n  if (path == DX_WINOGRAD || path == DX_DIRECT) return DX_SCATTER;"],
  ["plan: a kept packing compared without the bias", "assembly/conv2d/plan.ts",
    "return bias == 0 || copyBytes == weightBytes || bytesEqual(copy + weightBytes, bias, copyBytes - weightBytes);", "return true;"],
  ["plan: the scatter's second phase dropped", "assembly/conv2d/plan.ts", "    h.phases = dxScatterPhases(g);\n", "    h.phases = 1;\n"],
  // assembly/conv2d/dx_full.ts: when the full correlation applies and its padding.
  // (Without the top-pad condition the result is still right: a negative top pad of the full
  // correlation only skips dy rows. A left pad is where it matters.)
  ["dx_full: applies with a left pad wider than the kernel", "assembly/conv2d/dx_full.ts",
    "&& g.padLeft <= spanW && g.padRight <= spanW", "&& g.padRight <= spanW"],
  ["dx_full: bottom pad from the top one", "assembly/conv2d/dx_full.ts", "t.padBottom = spanH - g.padBottom;", "t.padBottom = spanH - g.padTop;"],
  // assembly/conv2d/dx_scatter.ts: the reduce over bands.
  ["dx_scatter: the first band copied, later ones copied over it", "assembly/conv2d/dx_scatter.ts",
    "if (initialised) addFloats(dst, src, W);", "if (false) addFloats(dst, src, W);"],
  ["dx_scatter: a dx row no band reaches left unwritten", "assembly/conv2d/dx_scatter.ts", "if (!initialised) zeroFloats(dst, W);", ""],
  // assembly/floats.ts and the gathers that use it.
  ["floats: copy drops the scalar tail", "assembly/floats.ts",
    "for (; i < count; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));", ""],
  ["floats: add drops the scalar tail", "assembly/floats.ts", "    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));\n", ""],
  ["floats: zero drops the scalar tail", "assembly/floats.ts", "for (; i < count; i++) store<f32>(dst + (<usize>i << 2), 0);", ""],
  // (Zeroing the lanes past count is not observable: their results are never stored. It keeps the
  // reads inside the rows; a read past the end of memory would trap.)
  ["gather: the columns' second vector read from the first", "assembly/conv2d/gather.ts",
    "      v128.store(panel, v128.load(from, 16), 16);\n      from += rowBytes;", "      v128.store(panel, v128.load(from), 16);\n      from += rowBytes;"],
  ["padded: one float of each row not copied", "assembly/conv2d/padded.ts", "copyFloats(target, src, W);", "copyFloats(target, src, W - 1);"],
  // Bounded scratch (issue 15): the forward's band-high padded buffer and the dx scatter's waves.
  ["tiling: the forward's band buffer one padded row short", "assembly/conv2d/padded.ts",
    "(rows - 1) * g.strideHeight + (g.kernelHeight - 1) * g.dilationHeight + 1);", "(rows - 1) * g.strideHeight + (g.kernelHeight - 1) * g.dilationHeight);"],
  ["tiling: tap offsets with the whole plane's height", "assembly/conv2d/forward.ts",
    "writeTapOffsets(g, groupInChannels(g), bandPaddedRows(g, rowsPerTask(g)) * paddedWidth(g), data);",
    "writeTapOffsets(g, groupInChannels(g), (g.inHeight + g.padTop + g.padBottom) * paddedWidth(g), data);"],
  ["tiling: a band's origin not moved back to padded row 0", "assembly/conv2d/padded.ts",
    "return paddedOrigin(buffer) - <usize>r0 * rowBytes;", "return paddedOrigin(buffer);"],
  ["tiling: the forward's work block sized for the whole image", "assembly/conv2d/forward.ts",
    "paddedBytes(g, groupInChannels(g), bandPaddedRows(g, rowsPerTask(g)))", "paddedBytes(g, groupInChannels(g), g.inHeight + g.padTop + g.padBottom)"],
  ["tiling: every wave scatters the first wave's slices", "assembly/conv2d/dx_scatter.ts",
    "const slice = firstSlice + t / bands;", "const slice = t / bands;"],
  ["tiling: every wave reduces the first wave's slices", "assembly/conv2d/dx_scatter.ts",
    "const slice = firstSlice + t / chunks;", "const slice = t / chunks;"],
  ["tiling: a wave's scatter tasks for one slice only", "assembly/conv2d/dx_scatter.ts",
    "if ((phase & 1) == 0) return slicesPerWave(g) * bandCount(g);", "if ((phase & 1) == 0) return bandCount(g);"],
  ["tiling: one wave for all slices", "assembly/conv2d/dx_scatter.ts",
    "return <i32>max(1, min(<f64>slices, Math.floor(waveBytes(g) / sliceBytes)));", "return slices;"],
  ["tiling: channel runs not thinned to fit a wave", "assembly/conv2d/dx_scatter.ts",
    "if (fits < perRun) perRun = max(unit, fits / unit * unit);", ""],
  ["tiling: a later phase's tasks counted as the first's", "assembly/conv2d/plan.ts",
    "return (phase & 1) == 0 ? h.tasks0 : h.tasks1;", "return phase == 0 ? h.tasks0 : h.tasks1;"],
  // assembly/conv2d/depthwise.ts: its dx paths.
  ["depthwise: every weight taken as finite", "assembly/conv2d/depthwise.ts", "if (v - v != 0) finite = false;", ""],
  ["depthwise: the full correlation's filters not rotated", "assembly/conv2d/depthwise.ts",
    "const v = load<f32>(w + (<usize>(j * taps + taps - 1 - k) << 2));", "const v = load<f32>(w + (<usize>(j * taps + k) << 2));"],
  // assembly/conv2d/direct.ts and direct_4x8_simd.ts: the sliding-window forward (and dx over dy).
  ["direct: a row's last, overlapping tile dropped", "assembly/conv2d/direct.ts",
    "for (let ow = 0; ow < Wo; ow += 8) {", "for (let ow = 0; ow + 8 <= Wo; ow += 8) {"],
  ["direct: the last filter panel skipped", "assembly/conv2d/direct.ts", "for (let f = 0; f < Fg; f += 4) {", "for (let f = 0; f + 4 < Fg; f += 4) {"],
  ["direct: a task's band misses its last row", "assembly/conv2d/direct.ts",
    "const oh0 = band * rows, oh1 = min(g.outHeight, oh0 + rows);", "const oh0 = band * rows, oh1 = min(g.outHeight, oh0 + rows - 1);"],
  ["direct: the band's last input row not padded", "assembly/conv2d/direct.ts",
    "(g.kernelHeight - 1) * g.dilationHeight + 1);", "(g.kernelHeight - 1) * g.dilationHeight);"],
  ["direct kernel: every tap read one pixel to the right", "assembly/conv2d/direct_4x8_simd.ts",
    "const b = src + (<usize>load<i32>(rowOffsets) << 2);", "const b = src + 4 + (<usize>load<i32>(rowOffsets) << 2);"],
  ["direct kernel: the last tap skipped", "assembly/conv2d/direct_4x8_simd.ts", "for (let k = 0; k < K; k++) {", "for (let k = 0; k < K - 1; k++) {"],
  ["direct kernel: a full panel's fourth filter not stored", "assembly/conv2d/direct_4x8_simd.ts", "if (valid == 3) return;", "if (valid >= 3) return;"],
  ["plan: no fallback from the direct dx for non-finite weights", "assembly/conv2d/plan.ts",
    "if (path == DX_FULL || path == DX_WINOGRAD || path == DX_DIRECT) return DX_SCATTER;", "if (path == DX_FULL || path == DX_WINOGRAD) return DX_SCATTER;"],
  // assembly/conv2d/dw_direct.ts and dw_direct_4x2_simd.ts: the swept dw tiles.
  ["dw_direct: a row's last pixels (the masked vector) dropped", "assembly/conv2d/dw_direct_4x2_simd.ts", "    if (rest != 0) {", "    if (false) {"],
  ["dw_direct kernel: the masked vector's lanes counted twice", "assembly/conv2d/dw_direct_4x2_simd.ts",
    "i32x4.ge_s(i32x4(0, 1, 2, 3), i32x4.splat(4 - rest))", "i32x4.ge_s(i32x4(0, 1, 2, 3), i32x4.splat(0))"],
  ["dw_direct: the second tap one to the right", "assembly/conv2d/dw_direct.ts",
    "const ka = k0 + 2 * i, kb = min(ka + 1, k1 - 1);", "const ka = k0 + 2 * i, kb = min(ka + 2, k1 - 1);"],
  ["dw_direct: a task's last tile skipped", "assembly/conv2d/dw_direct.ts", "const tiles = (k1 - k0 + 1) >> 1;", "const tiles = (k1 - k0) >> 1;"],
  ["dw_direct: the last image not summed", "assembly/conv2d/dw_direct.ts", "for (let n = 0; n < g.batch; n++) {", "for (let n = 0; n < max(1, g.batch - 1); n++) {"],
  ["dw_direct: the panel's fourth filter reads the first's dy", "assembly/conv2d/dw_direct.ts", "d3 = valid > 3 ? d + 3 * planeBytes : d;", "d3 = d;"],
  // (Caught by test/nn/conv2d-layer.test.ts, a layer summing gradients over two backward calls.)
  ["dw_direct: accumulate ignored", "assembly/conv2d/dw_direct.ts", "store<f32>(at, accumulate ? load<f32>(at) + s : s);", "store<f32>(at, s);"],
  ["dw_direct: a block's channels padded one short", "assembly/conv2d/dw_direct.ts", "const c0 = k0 / KK, c1 = (k1 - 1) / KK + 1;", "const c0 = k0 / KK, c1 = max(c0 + 1, (k1 - 1) / KK);"],
  // assembly/conv2d/dw.ts and db.ts: chunks and tasks.
  ["dw: pointwise reads x without the chunk offset", "assembly/conv2d/dw.ts",
    "xg + ((<usize>k0 * <usize>P + <usize>p0) << 2)", "xg + ((<usize>k0 * <usize>P) << 2)"],
  ["db: the last task's filters dropped", "assembly/conv2d/db.ts",
    "const fEnd = min(g.outChannels, t1 * BIAS_CHUNK);", "const fEnd = min(g.outChannels - 1, t1 * BIAS_CHUNK);"],
  // js/threads: the phase layout and the waits.
  ["control: a phase field written one slot off", "js/threads/control.ts",
    "for (let i = 0; i < PHASE_FIELDS.length; i++) control[OPERANDS + i] = fields[PHASE_FIELDS[i]!];",
    "for (let i = 0; i < PHASE_FIELDS.length; i++) control[OPERANDS + i] = fields[PHASE_FIELDS[Math.min(i + 1, PHASE_FIELDS.length - 1)]!];"],
  ["worker: every worker uses worker 0's work block", "js/threads/worker.ts",
    "p.workBase + setup.index * p.workStride", "p.workBase"],
  ["pool: async phase counted done one task early", "js/threads/pool.ts",
    "if (finished >= job.tasks || p.died) break;", "if (finished >= job.tasks - 1 || p.died) break;"],
  ["pool: synchronous wait stops one task early", "js/threads/pool.ts",
    "while (Atomics.load(c, FINISHED) < job.tasks) { /* spin */ }", "while (Atomics.load(c, FINISHED) < job.tasks - 1) { /* spin */ }"],
  // js/conv/schedule.ts: the kept packing.
  ["schedule: the scratch block always called reusable", "js/conv/schedule.ts",
    "const reusable = runtime.allocator.scratchIntact ? 1 : 0;", "const reusable = 1;"],
  ["memory: a scratch block handed out anew still called intact", "js/core/memory.ts", "    this.scratchIntact = false;\n", ""],
  ["schedule: scratch reserved for the first direction only", "js/conv/schedule.ts",
    "runtime.allocator.scratch(most, where);", "runtime.allocator.scratch(planned[0]!.bytes, where);"],
  ["schedule: the async block sized for the first call only", "js/conv/schedule.ts",
    "Math.max(...threaded.map((p) => p.prepared + p.work * pool.size))", "threaded[0]!.prepared + threaded[0]!.work * pool.size"],
  // js/conv/transposed.ts and its kernels: transposed convolution on conv2d's directions.
  ["transposed: the bias not added", "js/conv/transposed.ts", "if (bAddress) runtime.kernels.addChannelBias(", "if (!bAddress) runtime.kernels.addChannelBias("],
  ["transposed: x not zero-extended for dw", "js/conv/transposed.ts",
    "const x = g.extend && targets.dw ? temporary(extendedInput(runtime, checked.xAddress, g, where))._address : checked.xAddress;", "const x = checked.xAddress;"],
  ["transposed: db summed over x's shape", "js/conv/transposed.ts",
    "const db = convGeometry(outShape, [outChannels, outChannels, 1, 1], {}, where);", "const db = convGeometry(convOutShape, [inChannels, inChannels, 1, 1], {}, where);"],
  ["window: the last row of each window not copied", "assembly/tensor/window.ts", "      if (h < rows) {", "      if (h < rows - 1) {"],
  ["channel bias: the scalar tail dropped", "assembly/tensor/channel_bias.ts", "        store<f32>(at, load<f32>(at) + b);\n", ""],
  // js/nn: the layers' shared bases.
  ["layer: a ParameterFreeLayer's gradient without inputGrad", "js/nn/layer.ts",
    "return inputGrad ? this.gradient(dy, x, where) : null;", "return this.gradient(dy, x, where);"],
  ["optim: zeroGrad leaves the last parameter's grad", "js/nn/optim.ts",
    "for (const p of this.params) p.grad.write(new Float32Array(p.grad.size));",
    "for (const p of this.params.slice(0, -1)) p.grad.write(new Float32Array(p.grad.size));"],
  ["linear: db accumulated into dw's address", "js/nn/linear.ts",
    "if (targets.db) k.linearDb(dy, targets.db, s.batch, s.outFeatures, flag);", "if (targets.db) k.linearDb(dy, targets.dw, s.batch, s.outFeatures, flag);"],
  // assembly/pool/max_pool_2x2.ts and js/nn/sequential.ts: a ReLU and a MaxPool2x2 fused (issue 15).
  ["relu-pool: the fused forward without the ReLU", "assembly/pool/max_pool_2x2.ts",
    "v128.store(out + (<usize>j << 2), relu ? f32x4.max(best, zero) : best);", "v128.store(out + (<usize>j << 2), best);"],
  ["relu-pool: the fused forward's scalar tail without the ReLU", "assembly/pool/max_pool_2x2.ts",
    "store<f32>(out + (<usize>j << 2), relu ? max<f32>(best, 0) : best);", "store<f32>(out + (<usize>j << 2), best);"],
  ["relu-pool: the fused backward passes dy where x at the argmax is not positive", "assembly/pool/max_pool_2x2.ts",
    "if (relu) g = v128.and(g, f32x4.gt(best, zero));", ""],
  ["relu-pool: the fused backward's scalar tail passes dy where x at the argmax is not positive", "assembly/pool/max_pool_2x2.ts",
    "const g: f32 = relu && !(best > 0) ? 0 : load<f32>(grad + (<usize>j << 2));", "const g: f32 = load<f32>(grad + (<usize>j << 2));"],
  ["relu-pool: the fused backward's mask taken as x ≥ 0", "assembly/pool/max_pool_2x2.ts",
    "if (relu) g = v128.and(g, f32x4.gt(best, zero));", "if (relu) g = v128.and(g, f32x4.ge(best, zero));"],
  ["relu-pool: a first pair computes the input gradient it was not asked for", "js/nn/sequential.ts",
    "layer.backward(incoming, { inputGrad: first > 0 || inputGrad })", "layer.backward(incoming, { inputGrad: i > 0 || inputGrad })"],
  ["relu-pool: the ReLU of a pair keeps no input (its own backward then fails)", "js/nn/sequential.ts", "    relu._keepInput(x);\n", ""],
  ["relu-pool: the pool's own forward keeps the ReLU's mask of a fused one before", "js/nn/max-pool.ts", "      kept.afterRelu = false;\n", ""],
  // assembly/pool/pool2d.ts: the interior runs, PyTorch's max rules, the divisor, adaptive windows.
  ["pool: max's four-output runs reach one output past the interior", "assembly/pool/pool2d.ts",
    "if (rowInside && ow >= wLo && ow + 4 <= wHi) {\n        // Four outputs at once", "if (rowInside && ow >= wLo && ow + 4 <= wHi + 1) {\n        // Four outputs at once"],
  ["pool: NaN ignored by the vector max", "assembly/pool/pool2d.ts",
    "const take = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));", "const take = f32x4.gt(v, best);"],
  ["pool: ties go to the last maximum near the edges", "assembly/pool/pool2d.ts", "if (index < 0 || v > best || v != v) {", "if (index < 0 || v >= best || v != v) {"],
  ["pool: average's divisor not clipped to the padded input", "assembly/pool/pool2d.ts",
    "let h1 = min(h0 + KH, H + pH), w1 = min(w0 + KW, W + pW);", "let h1 = h0 + KH, w1 = w0 + KW;"],
  ["pool: average backward's strided fourth lane one column off", "assembly/pool/pool2d.ts",
    "addLanes(dx, i32x4(at, at + sW, at + 2 * sW, at + 3 * sW), g);", "addLanes(dx, i32x4(at, at + sW, at + 2 * sW, at + 3 * sW - 1), g);"],
  ["pool: adaptive windows end rounded down", "assembly/pool/pool2d.ts",
    "return <i32>(((<i64>(o + 1) * <i64>size) + <i64>out - 1) / <i64>out);", "return <i32>((<i64>(o + 1) * <i64>size) / <i64>out);"],
  ["pool: adaptive row sums drop their tail", "assembly/pool/pool2d.ts", "for (; w < w1; w++) tail += load<f32>(row + (<usize>w << 2));", ""],
  // assembly/norm/batch_norm.ts: the backward's terms, the running update, the sums' tails.
  ["batch norm: backward without the mean of dy (vector lanes)", "assembly/norm/batch_norm.ts",
    "const inner = f32x4.sub(f32x4.sub(v128.load(dy + at), mdy), f32x4.mul(xhat, mdx));", "const inner = f32x4.sub(v128.load(dy + at), f32x4.mul(xhat, mdx));"],
  ["batch norm: running variance not unbiased", "assembly/norm/batch_norm.ts", "const unbias = <f32>(count / (count - 1));", "const unbias: f32 = 1;"],
  ["batch norm: channel sums drop the scalar tail", "assembly/norm/batch_norm.ts",
    "tail += form == SUM ? d : d * (form == SQUARE ? d : load<f32>(b + (<usize>i << 2)));", ""],
  ["batch norm: eval-mode backward through the batch's statistics", "js/nn/batch-norm.ts", "    this.batchStatistics = batch;\n", "    this.batchStatistics = true;\n"],
  // assembly/activation and assembly/loss: the tails and the factors.
  ["dropout: the scalar tail keeps every element", "assembly/activation/dropout.ts",
    "const m: f32 = u >= p ? f32x4.extract_lane(scale, 0) : 0;", "const m: f32 = f32x4.extract_lane(scale, 0);"],
  ["dropout: backward drops the tail", "assembly/activation/dropout.ts", "    store<f32>(dx + o, load<f32>(dy + o) * load<f32>(mask + o));\n", ""],
  ["sigmoid: backward's scalar tail with σ² for σ(1 − σ)", "assembly/activation/sigmoid.ts",
    "store<f32>(dx + o, load<f32>(dy + o) * (s * (1 - s)));", "store<f32>(dx + o, load<f32>(dy + o) * (s * s));"],
  ["mse: the gradient without its factor 2", "assembly/loss/mse.ts", "const scale = f32x4.splat(<f32>(2.0 / <f64>count));", "const scale = f32x4.splat(<f32>(1.0 / <f64>count));"],
  // js/nn/residual.ts: both paths' gradients.
  ["residual: backward adds dy for the shortcut's dx (as if it were the identity)", "js/nn/residual.ts",
    "return sum(runtime, main!, other!, where,", "return sum(runtime, main!, dy, where,"],
  // js/nn/state.ts, js/io/safetensors.ts: state dicts and the file format (issue 13).
  ["state: a wrongly shaped value loaded anyway", "js/nn/state.ts",
    "if (!sameShape(v.shape, shape)) return `shape ${shapeText(v.shape as number[])}`;", ""],
  ["state: strict loading ignores missing keys", "js/nn/state.ts",
    "if (missingKeys.length) problems.unshift(", "if (false) problems.unshift("],
  ["state: F16 exponent bias off by one", "js/nn/state.ts", "2 ** (exponent - 15)", "2 ** (exponent - 14)"],
  ["state: batch norm's running variance left out of the state", "js/nn/batch-norm.ts",
    '["running_var", this.runningVar], ', ""],
  ["safetensors: overlapping tensors accepted", "js/io/safetensors.ts", "if (begin !== covered) bad(", "if (begin > covered) bad("],
  ["safetensors: data read from the header's start", "js/io/safetensors.ts",
    "copy.set(file.subarray(start + begin, start + begin + copy.length));", "copy.set(file.subarray(8 + begin, 8 + begin + copy.length));"],
  ["safetensors: num_batches_tracked written as F32", "js/io/safetensors.ts",
    'const counter = name === "num_batches_tracked" || name.endsWith(".num_batches_tracked");', "const counter = false;"],
  // js/onnx: the importer's host ops, graph gradients and folding.
  ["onnx: a gradient reaching a value twice keeps only the second", "js/onnx/import.ts",
    "grads.set(name, sum(this.runtime, before, d, where, `the gradient of \"${name}\"`, \"its other gradient's\"));", "grads.set(name, d);"],
  ["onnx: a broadcast input's gradient not summed over the broadcast axes", "js/onnx/values.ts",
    "for (let n = 0; n < values.length; n++) sum[index[n]!]! += values[n]!;", "for (let n = 0; n < sum.length; n++) sum[n] = values[n]!;"],
  ["onnx: Div's gradient for the divisor's sign flipped", "js/onnx/nodes.ts",
    "return which === 0 ? d / y : (-d * x) / (y * y);", "return which === 0 ? d / y : (d * x) / (y * y);"],
  ["onnx: concat's gradient slices from the start of each part", "js/onnx/nodes.ts",
    "sliceAxis(g, dy.shape, a, start, shape[a]!)", "sliceAxis(g, dy.shape, a, 0, shape[a]!)"],
  ["onnx: softmax's gradient without the dot product", "js/onnx/values.ts",
    "dx[base + k * inner] = y[base + k * inner]! * (dy[base + k * inner]! - dot);", "dx[base + k * inner] = y[base + k * inner]! * dy[base + k * inner]!;"],
  ["onnx: MatMul's weight gradient not transposed back", "js/onnx/nodes.ts",
    "acc[k * N + n]! += dw[n * K + k]!;", "acc[k * N + n]! += dw[k * N + n]!;"],
  ["onnx: ONNX's batch-norm momentum taken as PyTorch's", "js/onnx/nodes.ts",
    'momentum: 1 - float(ctx.node, "momentum", 0.9)', 'momentum: float(ctx.node, "momentum", 0.9)'],
  ["onnx: SAME_UPPER's extra pad put first", "js/onnx/nodes.ts",
    'auto === "SAME_UPPER" ? [small, total.map((t, i) => t - small[i]!)]', 'auto === "SAME_LOWER" ? [small, total.map((t, i) => t - small[i]!)]'],
  ["onnx: Pad places the input without the leading pads", "js/onnx/nodes.ts",
    "const offset = x.shape.reduce((sum, _, i) => sum + pads[i]! * strides[i]!, 0);", "const offset = 0;"],
  ["onnx: HardSwish's derivative as x/6 + 1/2", "js/onnx/nodes.ts", "(x) => (x <= -3 ? 0 : x >= 3 ? 1 : x / 3 + 0.5)", "(x) => (x <= -3 ? 0 : x >= 3 ? 1 : x / 6 + 0.5)"],
  ["onnx: ReduceMean's gradient not divided by the count", "js/onnx/nodes.ts", "Float64Array.from(index, (i) => g[i]! / saved!.count)", "Float64Array.from(index, (i) => g[i]!)"],
  ["fold: the folded bias without the conv's own bias", "js/onnx/fold.ts", "((bias?.[f] ?? 0) - mean[f]!)", "(0 - mean[f]!)"],
  ["fold: ε left out of the scale", "js/onnx/fold.ts", "g / Math.sqrt(variance[f]! + eps)", "g / Math.sqrt(variance[f]!)"],
  // assembly/tensor/transpose.ts and js/tfjs: the plugin's layout changes, geometry and fused parts (issue 14).
  ["transpose: the columns past the last 4×4 block dropped but one", "assembly/tensor/transpose.ts",
    "for (let c = fullCols; c < cols; c++) {", "for (let c = fullCols; c < cols - 1; c++) {"],
  ["transpose: the rows past the last 4×4 block dropped but one", "assembly/tensor/transpose.ts",
    "for (let r = fullRows; r < rows; r++) {", "for (let r = fullRows; r < rows - 1; r++) {"],
  ["transpose: a block's second column taken from its first", "assembly/tensor/transpose.ts",
    "v128.store(q + colBytes, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));", "v128.store(q + colBytes, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));"],
  ["tfjs: the bottom pad tfjs states, not the one its rounded output needs", "js/tfjs/kernels.ts",
    "const bottom = Math.max(0, (outHeight - 1) * info.strideHeight + effectiveHeight - H - top);", "const bottom = info.padInfo.bottom;"],
  ["tfjs: HWIO filters' second transpose with its axes swapped", "js/tfjs/kernels.ts",
    "return s.transpose(staged, g.outChannels, taps, g.inChannels);", "return s.transpose(staged, g.outChannels, g.inChannels, taps);"],
  ["tfjs: PReLU's weight picked by pixel, not channel", "js/tfjs/kernels.ts",
    "alpha[Math.floor(i / plane) % F]!", "alpha[i % F]!"],
  ["tfjs: relu6 without its upper bound", "js/tfjs/kernels.ts",
    "v[i] = Math.min(Math.max(v[i]!, 0), 6);", "v[i] = Math.max(v[i]!, 0);"],
  ["tfjs: a call's staging blocks never freed", "js/tfjs/tensors.ts",
    "for (const address of this.blocks) this.runtime.allocator.free(address);", ""],
  ["tfjs: MaxPoolGrad's windows placed by the left pad on both axes", "js/tfjs/kernels.ts",
    "info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left, 1, 1);", "info.strideHeight, info.strideWidth, info.padInfo.left, info.padInfo.left, 1, 1);"],
  ["tfjs: dilated gradients left to tfjs's own", "js/tfjs/gradients.ts",
    "if (allOne(attrs.dilations) || !onPluginBackend())", "if (true)"],

  // assembly/conv2d/winograd.ts and plan.ts's choice of it: F(2×2, 3×3) (issue 15).
  ["winograd: a tile's lower outputs dropped in the last full row", "assembly/conv2d/winograd.ts",
    "const right = ox + 1 < Wo, below = oy + 1 < Ho;", "const right = ox + 1 < Wo, below = oy + 2 < Ho;"],
  ["winograd: the interior test lets a tile read one column past the right edge", "assembly/conv2d/winograd.ts",
    "if (iy >= 0 && iy + 3 < H && ix >= 0 && ix + 3 < W) {", "if (iy >= 0 && iy + 3 < H && ix >= 0 && ix + 3 <= W) {"],
  ["winograd: the input transform's third column takes c1 for c2", "assembly/conv2d/winograd.ts",
    "const b = v128.shuffle<f32>(r, r, 2, 2, 1, 3);", "const b = v128.shuffle<f32>(r, r, 2, 1, 1, 3);"],
  ["winograd: a block's last, part-filled 8-tile panel not multiplied", "assembly/conv2d/winograd.ts",
    "multiply(C, F4, (count + 7) >> 3, block, u, v, m, form);", "multiply(C, F4, count >> 3, block, u, v, m, form);"],
  ["winograd: a task's last, short block dropped", "assembly/conv2d/winograd.ts",
    "for (let b0 = first; b0 < end; b0 += block) {", "for (let b0 = first; b0 + block <= end; b0 += block) {"],
  ["winograd: G's (½, −½, ½) row with its signs swapped", "assembly/conv2d/winograd.ts",
    "u2 = <f32>((a - b + c) * 0.5)", "u2 = <f32>((a + b - c) * 0.5)"],
  ["winograd: the last task of the call missed", "assembly/conv2d/winograd.ts",
    "return g.batch * chunksPerImage(g);", "return g.batch * chunksPerImage(g) - 1;"],
  ["winograd: dx's filters read unrotated", "assembly/conv2d/plan.ts",
    "if (!winogradPrepare(t, w, 1, t.outChannels, true, 0, data)) return false;", "if (!winogradPrepare(t, w, 1, t.outChannels, false, 0, data)) return false;"],
  ["dilated: a phase's input read from the row of the next phase", "assembly/conv2d/dilated.ts",
    "const iy = r * dh + a - g.padTop;", "const iy = r * dh + a + 1 - g.padTop;"],
  ["dilated: the phase sizes floored, not ceiled (the last row of a phase lost)", "assembly/conv2d/dilated.ts",
    "return max(0, (size - a + step - 1) / step);", "return max(0, (size - a) / step);"],
  ["dilated: a phase's outputs placed by the row phase on both axes", "assembly/conv2d/dilated.ts",
    "const row = plane + (<usize>((i * dh + a) * Wo + b) << 2);", "const row = plane + (<usize>((i * dh + a) * Wo + a) << 2);"],
  ["plan: auto takes Winograd whatever the channels", "assembly/conv2d/plan.ts", "return C >= 16 && F >= 16;", "return true;"],
  ["plan: a forced Winograd with non-finite weights kept on Winograd", "assembly/conv2d/plan.ts",
    "if (path == FORWARD_WINOGRAD) return FORWARD_GEMM;", "if (path == FORWARD_WINOGRAD) return FORWARD_WINOGRAD;"],

  // assembly/gemm/gemm_4x8_packed_simd.ts's shuffle form and its plumbing (issue 15). The form only
  // changes how A is broadcast, so these are caught only where the tests run the shuffle form (the
  // property test's shuffle runs, the pool's on 1 and 3 threads). A mutant that always runs the load
  // form gives the same bits and so is left out; test/runtimes checks Deno, Bun and workerd choose shuffle.
  ["broadcast: the shuffle form broadcasts lane 1 for row 2 (a lane taken twice)", "assembly/gemm/gemm_4x8_packed_simd.ts",
    "const a2 = i32x4.shuffle(av, av, 2, 2, 2, 2);", "const a2 = i32x4.shuffle(av, av, 1, 1, 1, 1);"],
  ["broadcast: the shuffle form's row 3 broadcast takes lane 2 in its last position", "assembly/gemm/gemm_4x8_packed_simd.ts",
    "const a3 = i32x4.shuffle(av, av, 3, 3, 3, 3);", "const a3 = i32x4.shuffle(av, av, 3, 3, 3, 2);"],
  ["broadcast: the shuffle form's biases of rows 2 and 3 swapped", "assembly/gemm/gemm_4x8_packed_simd.ts",
    "c20 = i32x4.shuffle(biases, biases, 2, 2, 2, 2); c21 = c20;", "c20 = i32x4.shuffle(biases, biases, 3, 3, 3, 3); c21 = c20;"],
  ["broadcast: the shuffle form reads A's four values one value late", "assembly/gemm/gemm_4x8_packed_simd.ts",
    "    const av = v128.load(a);\n", "    const av = v128.load(a, 4);\n"],
];

const DEFAULT_TESTS = "test/core test/conv test/threads test/nn test/api test/examples test/tfjs";

const args = process.argv.slice(2);
const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
if (args.includes("--list")) {
  for (const [name, file] of MUTANTS) console.log(`${file}: ${name}`);
  process.exit(0);
}
const only = option("--only")?.split(",");
const tests = (option("--tests") ?? DEFAULT_TESTS).split(" ");
const selected = MUTANTS.filter(([name]) => !only || only.some((o) => name.includes(o)));

const build = () => execFileSync("node", ["tools/build.mjs"], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });

let restore = null;
process.on("SIGINT", () => {
  restore?.();
  build();
  process.exit(130);
});

const results = [];
for (const [name, file, text, replacement] of selected) {
  const path = join(ROOT, file);
  const original = readFileSync(path, "utf8");
  const at = original.indexOf(text);
  if (at < 0 || original.indexOf(text, at + 1) >= 0) throw new Error(`${name}: the text must occur exactly once in ${file}`);
  restore = () => writeFileSync(path, original);
  writeFileSync(path, original.slice(0, at) + replacement + original.slice(at + text.length));
  const started = Date.now();
  let caught;
  try {
    build();
    const run = spawnSync(join(ROOT, "node_modules/.bin/vitest"), ["run", ...tests], { cwd: ROOT, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    // The first failing test, as vitest names it (its summary may go to stdout or stderr).
    const failed = (`${run.stdout}\n${run.stderr}`.match(/^\s*FAIL\s+(\S+\.test\.ts > .*)$/m) ?? [])[1];
    caught = run.status !== 0 ? (failed ?? "the run failed") : null;
  } catch (error) {
    caught = `the build failed (${String(error).split("\n")[0]})`;
  } finally {
    restore();
    restore = null;
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  results.push({ name, file, caught });
  console.log(`${caught ? "caught  " : "SURVIVED"} ${file}: ${name} (${seconds} s)${caught ? `\n         by ${caught}` : ""}`);
}
build();
const survived = results.filter((r) => !r.caught);
console.log(`\n${results.length - survived.length} of ${results.length} mutants caught${survived.length ? `; survived: ${survived.map((r) => r.name).join("; ")}` : ""}`);
process.exit(survived.length ? 1 : 0);
