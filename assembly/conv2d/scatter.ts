// col2im for one tile: dxp[tapOffset(t) + pixelOffset(i)] += tile[t][lane] for 4 taps × 8 pixels, into the padded buffer.

import { ConvGeometry } from "../geometry";
import { pixelOffset } from "./padded";
import { addFloats } from "../floats";

// The adjoint of gatherPanel. Scattering into a padded buffer (padded.ts) needs no bounds checks;
// the padding is cropped away afterwards. Tile row r is tap tap0 + r (rows past tap1 are ignored),
// lane l is output pixel p0 + l (lanes past count are ignored). dxp is where padded row 0, column 0
// of the first channel would be: a band buffer that starts at a later row passes its start moved back.
export function scatterTile(
  g: ConvGeometry, tile: usize, tapOffsets: usize, tap0: i32, tap1: i32, p0: i32, count: i32, dxp: usize,
): void {
  const outWidth = g.outWidth;
  const stride = g.strideWidth;
  let lane = 0;
  let p = p0;
  while (lane < count) {
    const oh = p / outWidth;
    const ow = p - oh * outWidth;
    const length = min(count - lane, outWidth - ow);
    const base = pixelOffset(g, oh, ow);
    let src = tile + (<usize>lane << 2);
    for (let t = tap0; t < tap1; t++) {
      const dst = dxp + (<usize>(load<i32>(tapOffsets + (<usize>t << 2)) + base) << 2);
      if (stride == 1) addFloats(dst, src, length);
      else if (stride == 2 && length == 8) addEvenLanes(dst, src);
      else for (let l = 0; l < length; l++) {
        const d = dst + (<usize>(l * stride) << 2);
        store<f32>(d, load<f32>(d) + load<f32>(src + (<usize>l << 2)));
      }
      src += 32;
    }
    lane += length;
    p += length;
  }
}

// Stride 2: the 8 values land on every other float of 16. Interleaving them with zeros turns that
// into four whole-vector adds (adding 0 leaves the odd floats exactly as they were, −0 aside).
@inline function addEvenLanes(dst: usize, src: usize): void {
  const zero = f32x4.splat(0);
  const a = v128.load(src), b = v128.load(src, 16);
  v128.store(dst, f32x4.add(v128.load(dst), v128.shuffle<f32>(a, zero, 0, 4, 1, 5)));
  v128.store(dst, f32x4.add(v128.load(dst, 16), v128.shuffle<f32>(a, zero, 2, 6, 3, 7)), 16);
  v128.store(dst, f32x4.add(v128.load(dst, 32), v128.shuffle<f32>(b, zero, 0, 4, 1, 5)), 32);
  v128.store(dst, f32x4.add(v128.load(dst, 48), v128.shuffle<f32>(b, zero, 2, 6, 3, 7)), 48);
}
