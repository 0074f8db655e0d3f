// Seeded random convolution configurations for the portable suite, with the explicit pads the reference needs.

import { Random } from "../../js/core/random.ts";
import { samePadding, type ReferenceConfig } from "../reference/conv2d.ts";
import type { Conv2dOptions } from "../../dist/index.js";

/** A configuration as the API takes it (pad in any accepted form) plus its data seed. */
export interface PortableCase {
  N: number; C: number; H: number; W: number; F: number; KH: number; KW: number;
  strideH: number; strideW: number; dilationH: number; dilationW: number; groups: number;
  pad: Conv2dOptions["pad"];
  bias: boolean;
  seed: number;
}

const between = (random: Random, low: number, high: number): number => low + Math.floor(random.uniform() * (high - low + 1));

/** The pad forms the API accepts, each drawn as often as the others. */
function drawPad(random: Random): Conv2dOptions["pad"] {
  switch (between(random, 0, 4)) {
    case 0: return between(random, 0, 3);
    case 1: return [between(random, 0, 3), between(random, 0, 3)];
    case 2: return { top: between(random, 0, 3), bottom: between(random, 0, 3), left: between(random, 0, 3), right: between(random, 0, 3) };
    case 3: return "same";
    default: return "valid";
  }
}

/** The reference's view of a case, or null when the dilated kernel does not fit the padded input. */
export function referenceConfig(c: PortableCase): ReferenceConfig | null {
  let pads: [number, number, number, number];
  const p = c.pad;
  if (p === "same") pads = [...samePadding(c.H, c.strideH, c.KH, c.dilationH), ...samePadding(c.W, c.strideW, c.KW, c.dilationW)];
  else if (p === "valid" || p === undefined) pads = [0, 0, 0, 0];
  else if (typeof p === "number") pads = [p, p, p, p];
  else if (Array.isArray(p)) pads = [p[0], p[0], p[1], p[1]];
  else { const s = p as { top: number; bottom: number; left: number; right: number }; pads = [s.top, s.bottom, s.left, s.right]; }
  const fitsH = c.H + pads[0] + pads[1] >= c.dilationH * (c.KH - 1) + 1;
  const fitsW = c.W + pads[2] + pads[3] >= c.dilationW * (c.KW - 1) + 1;
  if (!fitsH || !fitsW) return null;
  return {
    N: c.N, C: c.C, H: c.H, W: c.W, F: c.F, KH: c.KH, KW: c.KW, strideH: c.strideH, strideW: c.strideW,
    padTop: pads[0], padBottom: pads[1], padLeft: pads[2], padRight: pads[3],
    dilationH: c.dilationH, dilationW: c.dilationW, groups: c.groups,
  };
}

/** `count` valid cases from `seed`: the same seed gives the same cases on every engine. */
export function randomCases(seed: number, count: number): PortableCase[] {
  const random = new Random(seed);
  const cases: PortableCase[] = [];
  while (cases.length < count) {
    const C = between(random, 1, 9), F = between(random, 1, 9);
    const common = Array.from({ length: C }, (_, i) => i + 1).filter((d) => C % d === 0 && F % d === 0);
    const c: PortableCase = {
      N: between(random, 1, 3), C, F, groups: common[between(random, 0, common.length - 1)]!,
      H: between(random, 1, 12), W: between(random, 1, 12), KH: between(random, 1, 5), KW: between(random, 1, 5),
      strideH: between(random, 1, 4), strideW: between(random, 1, 4), dilationH: between(random, 1, 3), dilationW: between(random, 1, 3),
      pad: drawPad(random), bias: random.uniform() < 0.5, seed: random.nextUint32(),
    };
    if (referenceConfig(c)) cases.push(c);
  }
  return cases;
}

/** The API's options for a case. */
export function caseOptions(c: PortableCase): Conv2dOptions {
  return { stride: [c.strideH, c.strideW], dilation: [c.dilationH, c.dilationW], groups: c.groups, pad: c.pad };
}

/** Uniform [-1, 1) data from a seed. */
export function randomData(seed: number, n: number): Float32Array {
  return new Random(seed >>> 0).uniformArray(n, -1, 1);
}
