#!/usr/bin/python3
"""PyTorch's side of npm run bench:resnet: the small ResNet's convolutions (forward, dx, dw) and its whole
training step, timed as bench/resnet.ts times ours (median of repeated calls, one thread). Prints one JSON
line. The network is ../shared/anchors/resnet.py's; layers and their order are passed in as JSON.

    /usr/bin/python3 bench/peers/torch_resnet.py --layers '[{"name": ..., "C": 16, ...}]' --reps 15 --steps 30
"""
import argparse, json, time
import torch, torch.nn as nn, torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("--layers", required=True)
ap.add_argument("--reps", type=int, default=15)
ap.add_argument("--steps", type=int, default=30)
ap.add_argument("--batch", type=int, default=32)
a = ap.parse_args()
torch.set_num_threads(1)
torch.manual_seed(0)


def median_ms(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter(); fn(); times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[len(times) // 2]


layers = {}
for l in json.loads(a.layers):
    x = torch.rand(a.batch, l["C"], l["H"], l["H"]) - 0.5
    w = torch.rand(l["F"], l["C"], l["K"], l["K"]) - 0.5
    y = F.conv2d(x, w, None, l["stride"], l["pad"])
    dy = torch.rand_like(y) - 0.5
    with torch.no_grad():
        layers[l["name"]] = {
            "forward": median_ms(lambda: F.conv2d(x, w, None, l["stride"], l["pad"]), a.reps),
            "dx": median_ms(lambda: torch.nn.grad.conv2d_input(x.shape, w, dy, l["stride"], l["pad"]), a.reps),
            "dw": median_ms(lambda: torch.nn.grad.conv2d_weight(x, w.shape, dy, l["stride"], l["pad"]), a.reps),
        }


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False); self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False); self.b2 = nn.BatchNorm2d(cout)
        self.sc = None if stride == 1 and cin == cout else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x))); y = self.b2(self.c2(y))
        return F.relu(y + (x if self.sc is None else self.sc(x)))


m = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), Block(16, 16, 1), Block(16, 32, 2),
                  Block(32, 64, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
opt = torch.optim.Adam(m.parameters(), lr=2e-3)
xb = torch.rand(a.batch, 1, 28, 28); yb = torch.randint(0, 10, (a.batch,))


def step():
    opt.zero_grad(); F.cross_entropy(m(xb), yb).backward(); opt.step()


print(json.dumps({"torch": torch.__version__, "layers": layers, "stepMs": median_ms(step, a.steps)}))
