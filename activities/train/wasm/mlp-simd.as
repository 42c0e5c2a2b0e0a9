// The typed-array MLP trainer's dense layers in WebAssembly SIMD (AssemblyScript; compiled by
// build-wasm.ts into mlp-simd-module.ts, which is what runs: `npm run build:wasm`).
//
// Every pointer is a byte offset into linear memory, 16-byte aligned; every row of a weight, bias,
// activation or gradient block is `nP` floats long, nP = the layer's width rounded up to a multiple
// of 4 (the padding holds zeros). A layer's inputs for each batch row are a list of (input index,
// value) pairs: a row's non-zero one-hot inputs for the first layer, the units that are not 0 after
// activation and dropout for the others, so that the sums skip exact zeros as the JS kernel's do.
// `bounds` holds two i32 per row: the row's list is entries [from, to) of `idx` / `val`.
//
// f32 throughout; sums in a fixed order (bias, then the list in order; 32 outputs at a time in eight
// f32x4 registers), so a chunk's result does not depend on the thread that computes it.

const MULBERRY: u32 = 0x6d2b79f5;

// @ts-ignore: decorator
@inline
function madd(acc: v128, s: v128, w: v128): v128 {
  return f32x4.add(acc, f32x4.mul(s, w));
}

// @ts-ignore: decorator
@inline
function hsum(v: v128): f32 {
  return (
    f32x4.extract_lane(v, 0) +
    f32x4.extract_lane(v, 1) +
    (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3))
  );
}

/**
 * `Z[i] = B + Σ val[p] · W[idx[p]]` over row i's list, for `rows` rows: W is `fanIn × nP`, Z `rows × nP`.
 */
export function forward(
  W: usize,
  B: usize,
  nP: i32,
  idx: usize,
  val: usize,
  bounds: usize,
  rows: i32,
  Z: usize,
): void {
  const stride = <usize>nP << 2;
  for (let i = 0; i < rows; i++) {
    const from = load<i32>(bounds + (<usize>i << 3));
    const to = load<i32>(bounds + (<usize>i << 3), 4);
    const out = Z + <usize>i * stride;
    let c: usize = 0;
    for (; c + 128 <= stride; c += 128) {
      const b = B + c;
      let a0 = v128.load(b, 0);
      let a1 = v128.load(b, 16);
      let a2 = v128.load(b, 32);
      let a3 = v128.load(b, 48);
      let a4 = v128.load(b, 64);
      let a5 = v128.load(b, 80);
      let a6 = v128.load(b, 96);
      let a7 = v128.load(b, 112);
      for (let p = from; p < to; p++) {
        const k = <usize>load<i32>(idx + (<usize>p << 2));
        const s = f32x4.splat(load<f32>(val + (<usize>p << 2)));
        const w = W + k * stride + c;
        a0 = madd(a0, s, v128.load(w, 0));
        a1 = madd(a1, s, v128.load(w, 16));
        a2 = madd(a2, s, v128.load(w, 32));
        a3 = madd(a3, s, v128.load(w, 48));
        a4 = madd(a4, s, v128.load(w, 64));
        a5 = madd(a5, s, v128.load(w, 80));
        a6 = madd(a6, s, v128.load(w, 96));
        a7 = madd(a7, s, v128.load(w, 112));
      }
      const o = out + c;
      v128.store(o, a0, 0);
      v128.store(o, a1, 16);
      v128.store(o, a2, 32);
      v128.store(o, a3, 48);
      v128.store(o, a4, 64);
      v128.store(o, a5, 80);
      v128.store(o, a6, 96);
      v128.store(o, a7, 112);
    }
    for (; c < stride; c += 16) {
      let a = v128.load(B + c);
      for (let p = from; p < to; p++) {
        const k = <usize>load<i32>(idx + (<usize>p << 2));
        const s = f32x4.splat(load<f32>(val + (<usize>p << 2)));
        a = madd(a, s, v128.load(W + k * stride + c));
      }
      v128.store(out + c, a);
    }
  }
}

/**
 * A hidden layer's activation, dropout and input list for the next layer, over `rows` rows of
 * pre-activations `Z` (`rows × nP`, `n` real units). With `relu` the activation is computed here;
 * otherwise `Z` already holds the activation and `F` its derivative (computed by the caller). `F`
 * receives d activation / d pre-activation × the dropout mask.
 * The list of row i (from i·n) holds the units whose activation or derivative is not 0, with their
 * activations, in unit order: packed four units at a time by `lut` (16 byte shuffles, one per 4-bit
 * mask of the units kept), so each row's list may be written up to 3 entries past its end.
 *
 * Dropout (when `dropout` is 1): the mask of unit u of batch position `position + i` is draw
 * `drawBase + (position + i)·n + u` of mulberry32(`seed`): 0 when dropped, else `keep`. The draw
 * x/2³² < rate is tested as x ≤ `below` (= ⌈rate·2³²⌉ - 1, computed by the caller), which is the
 * same test on integers; four draws at a time.
 */
export function activate(
  Z: usize,
  F: usize,
  nP: i32,
  n: i32,
  rows: i32,
  relu: i32,
  dropout: i32,
  seed: u32,
  drawBase: i32,
  position: i32,
  below: u32,
  keep: f32,
  idx: usize,
  val: usize,
  bounds: usize,
  lut: usize,
): void {
  const stride = <usize>nP << 2;
  const zero = f32x4.splat(0);
  const nV = i32x4.splat(n);
  const one = f32x4.splat(1);
  const keepV = f32x4.splat(keep);
  const seedV = i32x4.splat(seed);
  const mulberry = i32x4.splat(MULBERRY);
  const belowV = i32x4.splat(below);
  const ones = i32x4.splat(1);
  const sixtyOnes = i32x4.splat(61);
  const lanes = i32x4(1, 2, 3, 4);
  for (let i = 0; i < rows; i++) {
    const z = Z + <usize>i * stride;
    const f = F + <usize>i * stride;
    // Draw number + 1 of units u … u+3.
    let next = i32x4.add(i32x4.splat(drawBase + (position + i) * n), lanes);
    let units = i32x4(0, 1, 2, 3);
    const first = i * n;
    let count = first;
    for (let c: usize = 0; c < stride; c += 16) {
      let a = v128.load(z + c);
      let d: v128;
      if (relu) {
        const positive = f32x4.gt(a, zero);
        a = v128.and(a, positive);
        d = v128.and(one, positive);
      } else {
        d = v128.load(f + c);
      }
      if (dropout) {
        let t = i32x4.add(seedV, i32x4.mul(next, mulberry));
        t = i32x4.mul(v128.xor(t, i32x4.shr_u(t, 15)), v128.or(t, ones));
        t = v128.xor(t, i32x4.add(t, i32x4.mul(v128.xor(t, i32x4.shr_u(t, 7)), v128.or(t, sixtyOnes))));
        t = v128.xor(t, i32x4.shr_u(t, 14));
        const m = v128.andnot(keepV, i32x4.le_u(t, belowV));
        a = f32x4.mul(a, m);
        d = f32x4.mul(d, m);
        next = i32x4.add(next, i32x4.splat(4));
      }
      v128.store(f + c, d);
      // The units of these four (of the first n) whose activation or derivative is not 0, packed.
      const kept = v128.and(v128.or(f32x4.ne(a, zero), f32x4.ne(d, zero)), i32x4.lt_s(units, nV));
      const mask = i32x4.bitmask(kept);
      const shuffle = v128.load(lut + (<usize>mask << 4));
      v128.store(idx + (<usize>count << 2), i8x16.swizzle(units, shuffle));
      v128.store(val + (<usize>count << 2), i8x16.swizzle(a, shuffle));
      count += popcnt<i32>(mask);
      units = i32x4.add(units, i32x4.splat(4));
    }
    store<i32>(bounds + (<usize>i << 3), first);
    store<i32>(bounds + (<usize>i << 3), count, 4);
  }
}

/**
 * Backward through one layer for `rows` rows: `D` (`rows × nP`) is d loss / d the layer's outputs.
 * Adds the bias gradient into `GB` and, for each entry (j, a) of row i's list, `a · D[i]` into row j of
 * `G`. With `down` set, also writes d loss / d the layer's input pre-activations into `Din`
 * (`rows × nInP`): `F[i, j] · (W[j] · D[i])` for listed j, 0 elsewhere.
 */
export function backward(
  W: usize,
  nP: i32,
  D: usize,
  G: usize,
  GB: usize,
  idx: usize,
  val: usize,
  bounds: usize,
  rows: i32,
  down: i32,
  F: usize,
  Din: usize,
  nInP: i32,
): void {
  const stride = <usize>nP << 2;
  const inStride = <usize>nInP << 2;
  for (let i = 0; i < rows; i++) {
    const g = D + <usize>i * stride;
    for (let c: usize = 0; c < stride; c += 16) {
      v128.store(GB + c, f32x4.add(v128.load(GB + c), v128.load(g + c)));
    }
    const from = load<i32>(bounds + (<usize>i << 3));
    const to = load<i32>(bounds + (<usize>i << 3), 4);
    const din = Din + <usize>i * inStride;
    if (down) memory.fill(din, 0, inStride);
    let c: usize = 0;
    for (; c + 128 <= stride; c += 128) {
      const gc = g + c;
      const g0 = v128.load(gc, 0);
      const g1 = v128.load(gc, 16);
      const g2 = v128.load(gc, 32);
      const g3 = v128.load(gc, 48);
      const g4 = v128.load(gc, 64);
      const g5 = v128.load(gc, 80);
      const g6 = v128.load(gc, 96);
      const g7 = v128.load(gc, 112);
      for (let p = from; p < to; p++) {
        const j = <usize>load<i32>(idx + (<usize>p << 2));
        const s = f32x4.splat(load<f32>(val + (<usize>p << 2)));
        const gr = G + j * stride + c;
        v128.store(gr, madd(v128.load(gr, 0), s, g0), 0);
        v128.store(gr, madd(v128.load(gr, 16), s, g1), 16);
        v128.store(gr, madd(v128.load(gr, 32), s, g2), 32);
        v128.store(gr, madd(v128.load(gr, 48), s, g3), 48);
        v128.store(gr, madd(v128.load(gr, 64), s, g4), 64);
        v128.store(gr, madd(v128.load(gr, 80), s, g5), 80);
        v128.store(gr, madd(v128.load(gr, 96), s, g6), 96);
        v128.store(gr, madd(v128.load(gr, 112), s, g7), 112);
        if (down) {
          const w = W + j * stride + c;
          const s01 = f32x4.add(f32x4.mul(v128.load(w, 0), g0), f32x4.mul(v128.load(w, 16), g1));
          const s23 = f32x4.add(f32x4.mul(v128.load(w, 32), g2), f32x4.mul(v128.load(w, 48), g3));
          const s45 = f32x4.add(f32x4.mul(v128.load(w, 64), g4), f32x4.mul(v128.load(w, 80), g5));
          const s67 = f32x4.add(f32x4.mul(v128.load(w, 96), g6), f32x4.mul(v128.load(w, 112), g7));
          const at = din + (j << 2);
          store<f32>(at, load<f32>(at) + hsum(f32x4.add(f32x4.add(s01, s23), f32x4.add(s45, s67))));
        }
      }
    }
    for (; c < stride; c += 16) {
      const gv = v128.load(g + c);
      for (let p = from; p < to; p++) {
        const j = <usize>load<i32>(idx + (<usize>p << 2));
        const s = f32x4.splat(load<f32>(val + (<usize>p << 2)));
        const gr = G + j * stride + c;
        v128.store(gr, madd(v128.load(gr), s, gv));
        if (down) {
          const at = din + (j << 2);
          store<f32>(at, load<f32>(at) + hsum(f32x4.mul(v128.load(W + j * stride + c), gv)));
        }
      }
    }
    if (down) {
      const f = F + <usize>i * inStride;
      for (let p = from; p < to; p++) {
        const j = <usize>load<i32>(idx + (<usize>p << 2)) << 2;
        store<f32>(din + j, load<f32>(din + j) * load<f32>(f + j));
      }
    }
  }
}
