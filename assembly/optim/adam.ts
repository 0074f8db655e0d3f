// Adam, as torch.optim.Adam: g = ∇ + λ·p; m = β₁m + (1−β₁)g; v = β₂v + (1−β₂)g²; p −= (lr/(1−β₁ᵗ))·m / (√v/√(1−β₂ᵗ) + ε).

// The bias corrections depend only on the step count t, so the API computes them once per step in
// f64 and passes stepSize = lr / (1 − β₁ᵗ) and correction2 = √(1 − β₂ᵗ), as PyTorch does.
export function adamStep(
  param: usize, grad: usize, m: usize, v: usize, count: i32,
  beta1: f32, beta2: f32, eps: f32, weightDecay: f32, stepSize: f32, correction2: f32,
): void {
  const b1 = f32x4.splat(beta1), b2 = f32x4.splat(beta2);
  const c1 = f32x4.splat(1 - beta1), c2 = f32x4.splat(1 - beta2);
  const epsilon = f32x4.splat(eps), decay = f32x4.splat(weightDecay);
  const rate = f32x4.splat(stepSize), correction = f32x4.splat(correction2);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const o = <usize>i << 2;
    const p = v128.load(param + o);
    const g = f32x4.add(v128.load(grad + o), f32x4.mul(decay, p));
    const mt = f32x4.add(f32x4.mul(b1, v128.load(m + o)), f32x4.mul(c1, g));
    const vt = f32x4.add(f32x4.mul(b2, v128.load(v + o)), f32x4.mul(c2, f32x4.mul(g, g)));
    v128.store(m + o, mt);
    v128.store(v + o, vt);
    const denominator = f32x4.add(f32x4.div(f32x4.sqrt(vt), correction), epsilon);
    v128.store(param + o, f32x4.sub(p, f32x4.mul(rate, f32x4.div(mt, denominator))));
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    const p = load<f32>(param + o);
    const g = load<f32>(grad + o) + weightDecay * p;
    const mt = beta1 * load<f32>(m + o) + (1 - beta1) * g;
    const vt = beta2 * load<f32>(v + o) + (1 - beta2) * (g * g);
    store<f32>(m + o, mt);
    store<f32>(v + o, vt);
    store<f32>(param + o, p - stepSize * (mt / (Mathf.sqrt(vt) / correction2 + eps)));
  }
}
