// SGD with momentum, as torch.optim.SGD: g = ∇ + λ·p; v = μ·v + g (v₀ = 0); p −= lr·v (or lr·g when μ = 0).

// One parameter tensor in place; velocity may be 0 when momentum is 0 (no buffer is needed then).
export function sgdStep(param: usize, grad: usize, velocity: usize, count: i32, lr: f32, momentum: f32, weightDecay: f32): void {
  const rate = f32x4.splat(lr), mu = f32x4.splat(momentum), decay = f32x4.splat(weightDecay);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const o = <usize>i << 2;
    const p = v128.load(param + o);
    let g = f32x4.add(v128.load(grad + o), f32x4.mul(decay, p));
    if (velocity != 0) {
      g = f32x4.add(f32x4.mul(mu, v128.load(velocity + o)), g);
      v128.store(velocity + o, g);
    }
    v128.store(param + o, f32x4.sub(p, f32x4.mul(rate, g)));
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    const p = load<f32>(param + o);
    let g = load<f32>(grad + o) + weightDecay * p;
    if (velocity != 0) {
      g = momentum * load<f32>(velocity + o) + g;
      store<f32>(velocity + o, g);
    }
    store<f32>(param + o, p - lr * g);
  }
}
