#!/usr/bin/python3
"""PyTorch's side of npm run bench (bench/peers/pytorch.ts): one layer's forward, dx, dw, db and step, timed on
one thread with the bench's rule (a warm-up call, then the median of samples), on the bench's own data.

The layer's x, w, b, dy arrive as raw float32 files (NCHW, FCHW) in --dir; its forward output, dx and dw are
written back there (forward.f32, dx.f32, dw.f32) so that the bench checks they agree with ours. Prints one
JSON line: {"torch": version, "threads": 1, "mkldnn": bool, "timings": {direction: {"medianMs", "samples"}}}.

    /usr/bin/python3 bench/peers/torch_layers.py --dir /tmp/x --layer '{"N": 1, "C": 3, ...}' --timing '{...}'

dx, dw and db are aten::convolution_backward, the op autograd runs for a conv2d's backward, with its
output mask choosing the gradients; the step is the forward and all three gradients.
"""
import argparse, json, os, time
import torch
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("--dir", required=True)
ap.add_argument("--layer", required=True)
ap.add_argument("--timing", required=True)
a = ap.parse_args()
torch.set_num_threads(1)
layer = json.loads(a.layer)
timing = json.loads(a.timing)


def read(name, shape):
    with open(os.path.join(a.dir, name + ".f32"), "rb") as f:
        return torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(shape)


def write(name, t):
    with open(os.path.join(a.dir, name + ".f32"), "wb") as f:
        f.write(t.contiguous().numpy().tobytes())


N, C, H, Fo, K, G = layer["N"], layer["C"], layer["size"], layer["F"], layer["K"], layer["groups"]
stride, pad, dilation = [layer["stride"]] * 2, [layer["pad"]] * 2, [layer["dilation"]] * 2
x = read("x", [N, C, H, H])
w = read("w", [Fo, C // G, K, K])
b = read("b", [Fo])
y = F.conv2d(x, w, b, stride, pad, dilation, G)
dy = read("dy", list(y.shape))


def backward(mask):
    return torch.ops.aten.convolution_backward(dy, x, w, [Fo], stride, pad, dilation, False, [0, 0], G, mask)


calls = {
    "forward": lambda: F.conv2d(x, w, b, stride, pad, dilation, G),
    "dx": lambda: backward([True, False, False]),
    "dw": lambda: backward([False, True, False]),
    "db": lambda: backward([False, False, True]),
    "step": lambda: (F.conv2d(x, w, b, stride, pad, dilation, G), backward([True, True, True])),
}


def measure(fn):
    """bench/lib/timing.ts's rule: warm up once; a slow warm-up is itself the sample (onceMs) or is followed by
    slowSamples single calls (slowMs); otherwise samples of enough calls to last minSampleMs, the median of
    at least minSamples of them within maxTime seconds."""
    t0 = time.perf_counter(); fn(); warm = (time.perf_counter() - t0) * 1000
    if warm > timing["onceMs"]:
        return {"medianMs": warm, "samples": 1}
    if warm > timing["slowMs"]:
        times = []
        for _ in range(timing["slowSamples"]):
            t0 = time.perf_counter(); fn(); times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        return {"medianMs": times[len(times) // 2], "samples": len(times)}
    reps = max(1, int(timing["minSampleMs"] / max(warm, 1e-3)))
    times, started = [], time.perf_counter()
    while len(times) < timing["minSamples"] or (time.perf_counter() - started < timing["maxTime"] and len(times) < 100):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        times.append((time.perf_counter() - t0) * 1000 / reps)
    times.sort()
    n = len(times)
    return {"medianMs": times[n // 2] if n % 2 else (times[n // 2 - 1] + times[n // 2]) / 2, "samples": n}


with torch.no_grad():
    write("forward", calls["forward"]())
    dx, dw, _ = backward([True, True, False])
    write("dx", dx)
    write("dw", dw)
    timings = {d: measure(fn) for d, fn in calls.items()}

print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                  "mkldnn": torch.backends.mkldnn.is_available(), "timings": timings}))
