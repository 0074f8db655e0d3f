// PyTorch's ResNet anchor (../shared/anchors/resnet.py) trained on npm start's split instead of its own: node bench/anchor-on-split.mjs [--seeds 0,1] [--threads 2].

// The anchor draws its own 8,000/2,000 split (numpy, seed 2); examples/mnist/data.mjs draws another.
// This writes our split (standardised as our trainers see it) to a temporary folder, runs the anchor
// with its data-loading line replaced by one that reads those files and its torch seed set, and
// prints its last line per seed: how the same recipe does on the digits our examples test on.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { splitDigits } from "../examples/mnist/data.mjs";
import { loadDigitsNode } from "../examples/mnist/load-node.mjs";

const { values } = parseArgs({ options: { seeds: { type: "string", default: "0,1" }, threads: { type: "string", default: "2" }, epochs: { type: "string", default: "5" } } });
const anchor = readFileSync(new URL("../../shared/anchors/resnet.py", import.meta.url), "utf8");
const dir = mkdtempSync(join(tmpdir(), "anchor-split-"));
try {
  const data = splitDigits(loadDigitsNode());
  for (const [name, array] of [["xtr", data.train.images], ["ytr", data.train.labels], ["xte", data.test.images], ["yte", data.test.labels]]) {
    writeFileSync(join(dir, `${name}.bin`), array);
  }
  const load = `Xtr, Ytr, Xte, Yte = [torch.tensor(np.fromfile(f"${dir}/{n}.bin", dtype=np.float32 if n[0] == "x" else np.int32)) for n in ("xtr", "ytr", "xte", "yte")]; ` +
    "Xtr = Xtr.reshape(-1, 1, 28, 28); Xte = Xte.reshape(-1, 1, 28, 28); Ytr = Ytr.long(); Yte = Yte.long()";
  if (!/^Xtr, Ytr, Xte, Yte = .*$/m.test(anchor)) throw new Error("the anchor's data-loading line has changed: update this script");
  for (const seed of values.seeds.split(",")) {
    const script = anchor.replace(/^Xtr, Ytr, Xte, Yte = .*$/m, load).replace(/torch\.manual_seed\(\d+\)/, `torch.manual_seed(${Number(seed)})`);
    writeFileSync(join(dir, "anchor.py"), script);
    const out = execFileSync("/usr/bin/python3", [join(dir, "anchor.py"), "--threads", values.threads, "--epochs", values.epochs], { encoding: "utf8" });
    console.log(`torch seed ${seed}: ${out.trim().split("\n").at(-1)}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
