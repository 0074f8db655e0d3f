// A dilated 3×3 stride-1 correlation as d_h·d_w undilated ones over the phases of its input, each run by Winograd F(2×2, 3×3).

import { ConvGeometry } from "../geometry";
import { winogradRun, winogradTasks, winogradWorkBound } from "./winograd";

// Output pixel (oy, ox) = (i·dh + a, j·dw + b) reads the zero-padded input only at rows (i + kh)·dh + a
// and columns (j + kw)·dw + b. So phase (a, b) of the output — every dh-th row from a, every dw-th
// column from b — is the undilated, unpadded correlation of phase (a, b) of the padded input with the
// same filters. A task is one image's phase: it copies that phase of x (zeros where the padding is)
// into its work block, runs F(2×2, 3×3) over it with the call's prepared U (which depends on the
// weights alone, so one serves every phase), and writes the phase's outputs to their places in out.
// Each output is still computed by one fixed sequence of operations, whatever the tasks' threads.

/** Bytes of the sub-geometry at the start of the work block (a ConvGeometry, rounded to a cache line). */
const GEOMETRY_BYTES: usize = 128;

/** Whether the geometry is dilated: the phases path of FORWARD_WINOGRAD and DX_WINOGRAD. */
@inline export function isDilated(g: ConvGeometry): bool {
  return g.dilationHeight > 1 || g.dilationWidth > 1;
}

/** Outputs of phase `a` along an axis of `size` outputs taken every `step`-th: ⌈(size − a) / step⌉. */
@inline function phaseSize(size: i32, step: i32, a: i32): i32 {
  return max(0, (size - a + step - 1) / step);
}

export function dilatedTasks(g: ConvGeometry): i32 {
  return g.batch * g.dilationHeight * g.dilationWidth;
}

/** Work bytes: the sub-geometry, the largest phase (a = b = 0) of x and of out, and Winograd's own block. */
export function dilatedWorkBytes(g: ConvGeometry): f64 {
  const rows = <f64>phaseSize(g.outHeight, g.dilationHeight, 0), columns = <f64>phaseSize(g.outWidth, g.dilationWidth, 0);
  return <f64>GEOMETRY_BYTES + (<f64>g.inChannels * (rows + 2) * (columns + 2) + <f64>g.outChannels * rows * columns) * 4
    + winogradWorkBound(g.inChannels, g.outChannels);
}

/** Phase (a, b)'s undilated, unpadded geometry of one image: its input is rows + 2 by columns + 2. */
function phaseGeometry(g: ConvGeometry, rows: i32, columns: i32, dst: usize): ConvGeometry {
  const s = changetype<ConvGeometry>(dst);
  memory.copy(dst, changetype<usize>(g), offsetof<ConvGeometry>());
  s.batch = 1;
  s.inHeight = rows + 2;
  s.inWidth = columns + 2;
  s.padTop = 0;
  s.padBottom = 0;
  s.padLeft = 0;
  s.padRight = 0;
  s.dilationHeight = 1;
  s.dilationWidth = 1;
  s.outHeight = rows;
  s.outWidth = columns;
  return s;
}

/** Tasks [t0, t1): one image's phase each; work is dilatedWorkBytes of this thread's scratch. */
export function dilatedRun(g: ConvGeometry, data: usize, x: usize, out: usize, work: usize, t0: i32, t1: i32, form: i32): void {
  const dh = g.dilationHeight, dw = g.dilationWidth, phases = dh * dw;
  const C = g.inChannels, F = g.outChannels, H = g.inHeight, W = g.inWidth, Ho = g.outHeight, Wo = g.outWidth;
  const inImage = <usize>C * <usize>(H * W) << 2, outImage = <usize>F * <usize>(Ho * Wo) << 2;
  for (let t = t0; t < t1; t++) {
    const n = t / phases, a = (t % phases) / dw, b = t % dw;
    const rows = phaseSize(Ho, dh, a), columns = phaseSize(Wo, dw, b);
    if (rows == 0 || columns == 0) continue;
    const s = phaseGeometry(g, rows, columns, work);
    const xs = work + GEOMETRY_BYTES;
    const inRows = rows + 2, inColumns = columns + 2;
    const outs = xs + (<usize>C * <usize>(inRows * inColumns) << 2);
    const rest = outs + (<usize>F * <usize>(rows * columns) << 2);
    // Phase (a, b) of the padded input: padded row r·dh + a is x's row r·dh + a − padTop.
    const xn = x + <usize>n * inImage;
    let dst = xs;
    for (let c = 0; c < C; c++) {
      const plane = xn + (<usize>(c * H * W) << 2);
      for (let r = 0; r < inRows; r++) {
        const iy = r * dh + a - g.padTop;
        const inside = <u32>iy < <u32>H;
        const row = plane + (<usize>(iy * W) << 2);
        for (let q = 0; q < inColumns; q++) {
          const ix = q * dw + b - g.padLeft;
          store<f32>(dst, inside && <u32>ix < <u32>W ? load<f32>(row + (<usize>ix << 2)) : 0);
          dst += 4;
        }
      }
    }
    winogradRun(s, data, xs, outs, rest, 0, winogradTasks(s), form);
    // The phase's outputs to rows i·dh + a, columns j·dw + b.
    const on = out + <usize>n * outImage;
    let src = outs;
    for (let f = 0; f < F; f++) {
      const plane = on + (<usize>(f * Ho * Wo) << 2);
      for (let i = 0; i < rows; i++) {
        const row = plane + (<usize>((i * dh + a) * Wo + b) << 2);
        for (let j = 0; j < columns; j++) {
          store<f32>(row + (<usize>(j * dw) << 2), load<f32>(src));
          src += 4;
        }
      }
    }
  }
}
