// Peer adapter for native PyTorch (Debian's python3-torch, CPU, one thread) through a Python child process per layer: bench/peers/torch_layers.py.

import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchLayer } from "../lib/layers.js";
import type { TimingOptions } from "../lib/timing.js";
import { DIRECTIONS, type Direction, type LayerData, type Peer, type PreparedLayer } from "./peer.js";

const SCRIPT = fileURLToPath(new URL("./torch_layers.py", import.meta.url));
export const NOT_INSTALLED = "python3-torch not installed";

/** torch's version where `python -c "import torch"` works, else null (CI has no PyTorch, and needs none). */
function torchVersion(python: string): string | null {
  try {
    return execFileSync(python, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 60_000 }).trim();
  } catch {
    return null;
  }
}

interface TorchReport {
  torch: string;
  threads: number;
  mkldnn: boolean;
  timings: Record<Direction, { medianMs: number; samples: number }>;
}

/**
 * PyTorch times itself (Python's perf_counter, the rule of bench/lib/timing.ts: a warm-up call, then
 * the median of samples); the JavaScript side passes the layer, its data (raw float32 files) and the
 * timing options, and reads back the timings and the forward output, dx and dw for the agreement check.
 */
export function pytorchPeer(timingFor: () => TimingOptions, python = "/usr/bin/python3"): Peer {
  let version: string | null | undefined;
  const installed = () => (version === undefined ? (version = torchVersion(python)) : version);
  return {
    name: "pytorch",
    get version() {
      return installed() ?? NOT_INSTALLED;
    },
    note: "native PyTorch (Debian python3-torch, CPU: oneDNN where it takes the shape), torch.set_num_threads(1), in a Python child process "
      + "per layer on the same data; F.conv2d forward, aten::convolution_backward for dx, dw, db (what autograd runs); timed in Python with the same rule",
    async setup(layer: BenchLayer, data: LayerData): Promise<PreparedLayer> {
      if (!installed()) {
        return { run: {}, unsupported: Object.fromEntries(DIRECTIONS.map((d) => [d, NOT_INSTALLED])), results: async () => ({}), dispose() {} };
      }
      const dir = await mkdtemp(join(tmpdir(), "wasm-conv2d-torch-"));
      try {
        for (const [name, values] of Object.entries({ x: data.x, w: data.w, b: data.b, dy: data.dy })) {
          await writeFile(join(dir, `${name}.f32`), new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
        }
        const timing = timingFor();
        const out = execFileSync(python, [SCRIPT, "--dir", dir, "--layer", JSON.stringify(layer), "--timing", JSON.stringify({
          ...timing, minSampleMs: (timing.minTime ?? 0.05) * 1000, onceMs: timing.onceMs ?? 1e9,
        })], {
          encoding: "utf8", maxBuffer: 1 << 20, stdio: ["ignore", "pipe", "inherit"],
          // One thread, whatever the machine's defaults (set_num_threads in the script sets the same).
          env: { ...process.env, OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1" },
        });
        const report = JSON.parse(out.trim().split("\n").pop()!) as TorchReport;
        if (report.threads !== 1) throw new Error(`PyTorch ran on ${report.threads} threads`);
        const read = async (name: string) => {
          const bytes = await readFile(join(dir, `${name}.f32`));
          return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice();
        };
        const results = { forward: await read("forward"), dx: await read("dx"), dw: await read("dw") };
        return { run: {}, measured: report.timings, unsupported: {}, results: async () => results, dispose() {} };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
