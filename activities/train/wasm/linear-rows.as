// The linear trainer's per-batch kernel in WebAssembly (AssemblyScript; compiled by build-wasm.ts into
// linear-rows-module.ts, which is what runs: `npm run build:wasm`).
//
// Every pointer is a byte offset into linear memory. Row records are row-records.ts's:
// `[valued, ones, y, w, index × K, value × KV]`, 32-bit words (y, w and values float32), `stride`
// words each; a row's entries are in column order, its first `valued` ones with a value (at index
// slot + K), the next `ones` an index alone (the value is 1). `runs` holds `count` pairs of i32:
// first record, number of records. W is f32, the gradient sums f64.
//
// The arithmetic is typed-linear.ts's JavaScript, operation for operation, in f64: the logit summed
// from the bias in column order and rounded to f32, then the loss and gradient of that f32. The
// transcendental functions are this module's (exported below as `exp`, `log1p` and `log`), and the
// trainer's JavaScript path calls these same exports, so both give bit-identical weights.

/**
 * Adds the batch's gradient sums into `gradW` (and `gradB`, an f64 at `gradB`) and returns its summed
 * weighted loss: logistic (`sigmoid` = 1) or squared error. A batch's logistic loss is summed as
 * `Σ w·(max(z, 0) − z·y) + log Π (1 + e^−|z|)`: one `log` per batch instead of a `log1p` per row, for
 * rows of weight 1 (a row of another weight adds its own `w·log1p`); every factor is at most 2, so
 * the product is folded into the sum before it can overflow.
 */
export function oneOutputRows(
  sigmoid: i32,
  records: usize,
  stride: i32,
  K: i32,
  runs: usize,
  count: i32,
  W: usize,
  b0: f64,
  gradW: usize,
  gradB: usize,
): f64 {
  const strideBytes = <usize>stride << 2;
  const valueOffset = <usize>K << 2;
  let gb = load<f64>(gradB);
  let sum: f64 = 0;
  let product: f64 = 1;
  for (let r = 0; r < count; r++) {
    const from = <usize>load<i32>(runs + (<usize>r << 3));
    const n = <usize>load<i32>(runs + (<usize>r << 3), 4);
    let at = records + from * strideBytes;
    const end = at + n * strideBytes;
    for (; at < end; at += strideBytes) {
      const first = at + 16;
      const valuedEnd = first + (<usize>load<i32>(at) << 2);
      const last = valuedEnd + (<usize>load<i32>(at, 4) << 2);
      let s = b0;
      for (let p = first; p < valuedEnd; p += 4)
        s += <f64>load<f32>(p + valueOffset) * <f64>load<f32>(W + (<usize>load<i32>(p) << 2));
      for (let p = valuedEnd; p < last; p += 4) s += <f64>load<f32>(W + (<usize>load<i32>(p) << 2));
      const zi = <f64>(<f32>s);
      const target = <f64>load<f32>(at, 8);
      const weight = <f64>load<f32>(at, 12);
      let g: f64;
      if (sigmoid) {
        const e = Math.exp(-Math.abs(zi));
        sum += weight * (max<f64>(zi, 0) - zi * target);
        if (weight == 1) {
          product *= 1 + e;
          if (product > 1e300) {
            sum += Math.log(product);
            product = 1;
          }
        } else sum += weight * Math.log1p(e);
        g = (zi >= 0 ? 1 / (1 + e) : e / (1 + e)) - target;
      } else {
        const d = zi - target;
        sum += weight * (d * d);
        g = 2 * d;
      }
      const gk = g * weight;
      if (gk == 0) continue;
      gb += gk;
      for (let p = first; p < valuedEnd; p += 4) {
        const j = gradW + (<usize>load<i32>(p) << 3);
        store<f64>(j, load<f64>(j) + gk * <f64>load<f32>(p + valueOffset));
      }
      for (let p = valuedEnd; p < last; p += 4) {
        const j = gradW + (<usize>load<i32>(p) << 3);
        store<f64>(j, load<f64>(j) + gk);
      }
    }
  }
  store<f64>(gradB, gb);
  return sum + Math.log(product);
}

/** e^x, as the kernel computes it (the JavaScript path calls this, so both agree to the bit). */
export function exp(x: f64): f64 {
  return Math.exp(x);
}

/** log(1 + x), as the kernel computes it. */
export function log1p(x: f64): f64 {
  return Math.log1p(x);
}

/** log(x), as the kernel computes it. */
export function log(x: f64): f64 {
  return Math.log(x);
}

/** Where free linear memory starts: the module's own data (the math tables) lies below. */
export function heapBase(): usize {
  return __heap_base;
}
