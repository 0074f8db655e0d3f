"""The PyTorch twins of the example networks (examples/mnist/lenet.mjs, resnet.mjs), whose state_dict()
names are exactly this library's parameter names ("0.weight", "3.0.main.1.running_var", ...)."""
import torch
import torch.nn as nn


class Residual(nn.Module):
    """js/nn/residual.ts: y = main(x) + shortcut(x), the shortcut the identity when None."""

    def __init__(self, main, shortcut=None):
        super().__init__()
        self.main = main
        self.shortcut = shortcut

    def forward(self, x):
        return self.main(x) + (x if self.shortcut is None else self.shortcut(x))


def lenet():
    """leNet(): conv 5x5 (8, "same") → ReLU → max-pool 2 → conv 5x5 (16, "same") → ReLU → max-pool 2 → flatten → linear (784 → 10)."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 10),
    )


def resnet():
    """resNet(): conv 3x3 (16) → BN → ReLU → basic blocks 16→16, 16→32 (stride 2), 32→64 (stride 2) → global average pool → flatten → linear (64 → 10)."""
    def conv(cin, cout, k, stride):
        return nn.Conv2d(cin, cout, k, stride=stride, padding=(k - 1) // 2, bias=False)

    def block(cin, cout, stride):
        main = nn.Sequential(conv(cin, cout, 3, stride), nn.BatchNorm2d(cout), nn.ReLU(), conv(cout, cout, 3, 1), nn.BatchNorm2d(cout))
        shortcut = nn.Sequential(conv(cin, cout, 1, stride), nn.BatchNorm2d(cout)) if stride != 1 or cin != cout else None
        return nn.Sequential(Residual(main, shortcut), nn.ReLU())

    return nn.Sequential(
        conv(1, 16, 3, 1), nn.BatchNorm2d(16), nn.ReLU(),
        block(16, 16, 1), block(16, 32, 2), block(32, 64, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10),
    )


NETS = {"lenet": lenet, "resnet": resnet}
