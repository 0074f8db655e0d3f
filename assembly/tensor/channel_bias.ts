// y[n, c, p] += b[c] for every image n, channel c and pixel p: a bias added per channel, for the layers whose kernels do not add it (transposed convolution).

export function addChannelBias(y: usize, bias: usize, batch: i32, channels: i32, plane: i32): void {
  const planeBytes = <usize>plane << 2;
  const vectorEnd = plane & ~3;
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      const b = load<f32>(bias + (<usize>c << 2));
      const lanes = f32x4.splat(b);
      const row = y + (<usize>(n * channels + c)) * planeBytes;
      let i = 0;
      for (; i < vectorEnd; i += 4) {
        const at = row + (<usize>i << 2);
        v128.store(at, f32x4.add(v128.load(at), lanes));
      }
      for (; i < plane; i++) {
        const at = row + (<usize>i << 2);
        store<f32>(at, load<f32>(at) + b);
      }
    }
  }
}
