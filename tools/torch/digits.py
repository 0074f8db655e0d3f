"""The mnist package's 10,000 digits and examples/mnist/data.mjs's split, reproduced exactly: the same
mulberry32 generator and Fisher-Yates shuffle, so the 2,000 test digits are the ones the examples use."""
import json
import os

import numpy as np

PIXELS = 28 * 28
SPLIT_SEED = 20240501
PIXEL_MEAN, PIXEL_STD = 0.1307, 0.3081


def load(folder):
    """perClass[d]: digits/d.json's flat "data" list (784 values in [0, 1] per image), as float64 arrays."""
    per_class = []
    for d in range(10):
        with open(os.path.join(folder, f"{d}.json")) as f:
            per_class.append(np.asarray(json.load(f)["data"], dtype=np.float64))
    return per_class


def standardise(pixels):
    """(p − mean) / std in float64, then rounded to float32, as data.mjs's gather() does."""
    return ((np.asarray(pixels, dtype=np.float64) - PIXEL_MEAN) / PIXEL_STD).astype(np.float32)


def mulberry32(seed):
    """data.mjs's mulberry32: every step is arithmetic mod 2^32, so uint32 masks reproduce it bit for bit."""
    state = seed & 0xFFFFFFFF
    M = 0xFFFFFFFF

    def imul(a, b):
        return (a * b) & M

    def random():
        nonlocal state
        state = (state + 0x6D2B79F5) & M
        t = state
        t = imul(t ^ (t >> 15), t | 1)
        t = (t ^ ((t + imul(t ^ (t >> 7), t | 61)) & M)) & M
        return (t ^ (t >> 14)) / 4294967296

    return random


def split(per_class, train_size=8000, test_size=2000):
    """splitDigits(): returns {"train": (images [n, 1, 28, 28] float32, labels int64), "test": (...)}."""
    items = [(digit, i) for digit, pixels in enumerate(per_class) for i in range(len(pixels) // PIXELS)]
    random = mulberry32(SPLIT_SEED)
    for i in range(len(items) - 1, 0, -1):
        j = int(random() * (i + 1))
        items[i], items[j] = items[j], items[i]

    def gather(chosen):
        images = np.stack([standardise(per_class[d][i * PIXELS:(i + 1) * PIXELS]) for d, i in chosen]).reshape(-1, 1, 28, 28)
        return images, np.array([d for d, _ in chosen], dtype=np.int64)

    return {"train": gather(items[:train_size]), "test": gather(items[len(items) - test_size:])}
