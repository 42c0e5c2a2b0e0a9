import { instantiateMlpSimd, mlpSimdRuns } from './wasm/mlp-simd-instance.js';
import {
  createMlpKernel,
  lossAndGradient,
  type BatchRows,
  type MlpKernel,
  type MlpKernelOptions,
} from './typed-mlp-kernel.js';
import type { MlpLayout } from './typed-mlp-layout.js';

/** Which kernel computes a typed-array MLP's gradients: WebAssembly SIMD, or plain JS. */
export type MlpKernelImpl = 'wasm-simd' | 'js';

/**
 * The kernel to use for `layout`: `wanted` (default `'wasm-simd'`), or `'js'` with the reason when the
 * SIMD kernel cannot run it here ({@link simdUnavailable}).
 */
export function chooseMlpKernel(
  layout: MlpLayout,
  wanted: MlpKernelImpl = 'wasm-simd',
  maxBytes = SIMD_MAX_BYTES,
): { impl: MlpKernelImpl; fallback?: string } {
  if (wanted === 'js') return { impl: 'js' };
  const why = simdUnavailable(layout, maxBytes);
  return why ? { impl: 'js', fallback: why } : { impl: 'wasm-simd' };
}

/** Kernel `impl` for `layout` (the SIMD one throws where it cannot run: see {@link chooseMlpKernel}). */
export function createMlpKernelOf(
  impl: MlpKernelImpl,
  layout: MlpLayout,
  options: MlpKernelOptions,
): MlpKernel {
  return impl === 'wasm-simd' ? createSimdMlpKernel(layout, options) : createMlpKernel(layout, options);
}

/** Largest linear memory the SIMD kernel takes for a network's weights and gradients (else JS). */
export const SIMD_MAX_BYTES = 1 << 30;

/** Rows the forward pass of `logits` takes at a time. */
const LOGIT_BLOCK = 256;

/** Why the SIMD kernel cannot run `layout` here, or undefined when it can. */
export function simdUnavailable(layout: MlpLayout, maxBytes = SIMD_MAX_BYTES): string | undefined {
  if (!mlpSimdRuns()) return 'this runtime has no WebAssembly SIMD';
  const bytes = 8 * paddedTotal(layout);
  if (bytes > maxBytes) {
    return `the weights and gradients would take ${bytes} bytes of WebAssembly memory, over ${maxBytes}`;
  }
  return undefined;
}

const pad4 = (n: number) => (n + 3) & ~3;

/** Floats at the start of the kernel's memory that hold {@link packingTable}. */
const LUT_FLOATS = 64;

/**
 * For each 4-bit mask of lanes kept, the `i8x16.swizzle` bytes that move the kept 32-bit lanes to the
 * front in lane order (the rest become 0): how activate() packs a row's list four units at a time.
 */
function packingTable(): Uint8Array {
  const table = new Uint8Array(16 * 16).fill(0x80);
  for (let mask = 0; mask < 16; mask++) {
    let to = 0;
    for (let lane = 0; lane < 4; lane++) {
      if ((mask & (1 << lane)) === 0) continue;
      for (let b = 0; b < 4; b++) table[16 * mask + 4 * to + b] = 4 * lane + b;
      to++;
    }
  }
  return table;
}

function paddedTotal(layout: MlpLayout): number {
  let total = 0;
  for (let l = 0; l + 1 < layout.sizes.length; l++) {
    total += ((layout.sizes[l] as number) + 1) * pad4(layout.sizes[l + 1] as number);
  }
  return total;
}

/**
 * The typed-array MLP kernel (typed-mlp-kernel.ts) with its dense layers in WebAssembly SIMD
 * (wasm/mlp-simd.as): the same gradient, loss, dropout draws and skipped zeros, computed in float32
 * four lanes at a time over a chunk's rows layer by layer, where the JS kernel takes one row at a
 * time in doubles. The loss of each row (exp, log) and the tanh activation stay in JS.
 *
 * Each kernel owns an instance with its own linear memory: the weights are copied in at each call
 * (rows padded to a multiple of 4 floats; a plain copy where the widths already are) and the chunk's
 * float32 gradient copied out the same way. For the 64-32 network the copies, the zeroing of the
 * gradient and the calls take ~2 µs a chunk, 3-4 % of a 64-row chunk. Throws when
 * {@link simdUnavailable} says why not.
 */
export function createSimdMlpKernel(layout: MlpLayout, options: MlpKernelOptions): MlpKernel {
  const why = simdUnavailable(layout);
  if (why) throw new Error(`the WebAssembly SIMD MLP kernel cannot run: ${why}`);
  const wasm = instantiateMlpSimd();
  const { sizes } = layout;
  const layers = sizes.length - 1;
  const width = sizes[0] as number;
  const units = sizes[layers] as number;
  const nP = sizes.map(pad4);
  const relu = options.activation === 'relu' ? 1 : 0;
  const rate = options.dropout;
  const keep = Math.fround(1 / (1 - rate));
  // A draw x (a u32) drops its unit when x / 2³² < rate, i.e. when x ≤ ⌈rate · 2³²⌉ - 1 (exact in doubles).
  const below = rate > 0 ? Math.ceil(rate * 2 ** 32) - 1 : 0;
  // Fixed part, in floats: the activation's packing table (LUT_FLOATS), then W_l, B_l for every layer,
  // then the same again for the gradient.
  const W: number[] = [];
  const B: number[] = [];
  let at = LUT_FLOATS;
  for (let l = 0; l < layers; l++) {
    W.push(at);
    at += (sizes[l] as number) * (nP[l + 1] as number);
    B.push(at);
    at += nP[l + 1] as number;
  }
  const gradOffset = at;
  const fixedEnd = 2 * at;
  // Work part, planned for `capacity` rows and `nnzCapacity` first-layer inputs (plan()).
  let capacity = 0;
  let nnzCapacity = 0;
  let idx: number[] = [];
  let val: number[] = [];
  let bounds: number[] = [];
  let Z: number[] = [];
  let F: number[] = [];
  let D: number[] = [];
  let f32 = new Float32Array(0);
  let i32 = new Int32Array(0);
  const zRow = new Float64Array(units);
  const gRow = new Float64Array(units);

  const plan = (rows: number, nnz: number) => {
    if (rows <= capacity && nnz <= nnzCapacity) return;
    capacity = Math.max(rows, capacity);
    nnzCapacity = Math.max(pad4(nnz), nnzCapacity);
    let end = fixedEnd;
    const take = (floats: number) => {
      const start = end;
      end += pad4(floats);
      return start;
    };
    idx = [take(nnzCapacity)];
    val = [take(nnzCapacity)];
    bounds = [take(2 * capacity)];
    Z = [0];
    F = [0];
    D = [0];
    for (let l = 1; l <= layers; l++) {
      Z.push(take(capacity * (nP[l] as number)));
      D.push(take(capacity * (nP[l] as number)));
      if (l < layers) {
        F.push(take(capacity * (nP[l] as number)));
        // activate() may write 3 entries past a row's list: room for the last row's.
        idx.push(take(capacity * (sizes[l] as number) + 4));
        val.push(take(capacity * (sizes[l] as number) + 4));
        bounds.push(take(2 * capacity));
      }
    }
    const pages = Math.ceil((4 * end) / 65536) - wasm.memory.buffer.byteLength / 65536;
    if (pages > 0) {
      try {
        wasm.memory.grow(pages);
      } catch (error) {
        throw new Error(
          `the WebAssembly SIMD MLP kernel could not grow its memory to ${4 * end} bytes for ${rows} rows (${(error as Error).message}); a smaller batch size, or engine: 'tfjs', needs less`,
        );
      }
    }
    f32 = new Float32Array(wasm.memory.buffer);
    i32 = new Int32Array(wasm.memory.buffer);
  };
  plan(1, width);
  new Uint8Array(wasm.memory.buffer).set(packingTable(), 0);

  /** The flat parameters into W/B (padding stays 0: nothing writes it). */
  const loadParams = (P: Float32Array) => {
    for (let l = 0; l < layers; l++) {
      const n = sizes[l + 1] as number;
      const k = layout.kernel[l] as number;
      const b = layout.bias[l] as number;
      if (n === nP[l + 1]) {
        f32.set(P.subarray(k, b + n), W[l]);
        continue;
      }
      // Row by row (the bias is one more row), each padded to nP floats.
      const stride = nP[l + 1] as number;
      for (
        let j = 0, from = k, to = W[l] as number;
        j <= (sizes[l] as number);
        j++, from += n, to += stride
      ) {
        for (let u = 0; u < n; u++) f32[to + u] = P[from + u] as number;
      }
    }
  };

  /** The gradient in W/B's layout into `G` (the flat layout): one copy per layer where unpadded. */
  const storeGradient = (G: Float32Array | Float64Array) => {
    for (let l = 0; l < layers; l++) {
      const n = sizes[l + 1] as number;
      const stride = nP[l + 1] as number;
      const k = layout.kernel[l] as number;
      const rows = (sizes[l] as number) + 1; // the bias is one more row
      const at = gradOffset + (W[l] as number);
      if (n === stride && G instanceof Float32Array) {
        G.set(f32.subarray(at, at + rows * n), k);
        continue;
      }
      for (let j = 0, to = k, from = at; j < rows; j++, to += n, from += stride) {
        for (let u = 0; u < n; u++) G[to + u] = f32[from + u] as number;
      }
    }
  };

  /** Hidden layers' activations and every later layer, for rows whose first-layer lists are set. */
  const forwardFrom = (rows: number, dropout: number, seed: number, size: number, position: number) => {
    wasm.forward(4 * W[0]!, 4 * B[0]!, nP[1]!, 4 * idx[0]!, 4 * val[0]!, 4 * bounds[0]!, rows, 4 * Z[1]!);
    for (let l = 1; l < layers; l++) {
      const n = sizes[l] as number;
      const stride = nP[l] as number;
      if (!relu) {
        const z = Z[l] as number;
        const f = F[l] as number;
        for (let i = 0; i < rows; i++) {
          for (let u = 0, at = i * stride; u < n; u++, at++) {
            const a = Math.tanh(f32[z + at] as number);
            f32[z + at] = a;
            f32[f + at] = 1 - a * a;
          }
        }
      }
      wasm.activate(
        4 * Z[l]!,
        4 * F[l]!,
        stride,
        n,
        rows,
        relu,
        dropout,
        seed,
        size * (layout.hiddenBefore[l - 1] as number),
        position,
        below,
        keep,
        4 * idx[l]!,
        4 * val[l]!,
        4 * bounds[l]!,
        0,
      );
      wasm.forward(
        4 * W[l]!,
        4 * B[l]!,
        nP[l + 1]!,
        4 * idx[l]!,
        4 * val[l]!,
        4 * bounds[l]!,
        rows,
        4 * Z[l + 1]!,
      );
    }
  };

  return {
    gradType: Float32Array,
    gradient(P, G, batch: BatchRows, from, to) {
      const { csr, y, w, rows: order, start, size } = batch;
      const { offsets, index, value } = csr;
      const rows = to - from;
      let nnz = 0;
      for (let i = from; i < to; i++) {
        const r = order[start + i] as number;
        nnz += (offsets[r + 1] as number) - (offsets[r] as number);
      }
      plan(rows, nnz);
      loadParams(P);
      f32.fill(0, gradOffset, fixedEnd);
      // The first layer's lists: the chunk's rows of the CSR split.
      const idx0 = idx[0] as number;
      const val0 = val[0] as number;
      const b0 = bounds[0] as number;
      for (let i = 0, p = 0; i < rows; i++) {
        const r = order[start + from + i] as number;
        const first = offsets[r] as number;
        const last = offsets[r + 1] as number;
        i32[b0 + 2 * i] = p;
        for (let q = first; q < last; q++, p++) {
          i32[idx0 + p] = index[q] as number;
          f32[val0 + p] = value[q] as number;
        }
        i32[b0 + 2 * i + 1] = p;
      }
      const dropout = rate > 0 ? 1 : 0;
      forwardFrom(rows, dropout, batch.dropoutSeed | 0, size, from);
      // The loss and d loss / d logits of each row, in doubles as the JS kernel computes them.
      let loss = 0;
      const zL = Z[layers] as number;
      const dL = D[layers] as number;
      const strideL = nP[layers] as number;
      for (let i = 0; i < rows; i++) {
        const r = order[start + from + i] as number;
        for (let k = 0; k < units; k++) zRow[k] = f32[zL + i * strideL + k] as number;
        const weight = w ? (w[r] as number) : 1;
        loss += weight * lossAndGradient(options.output, zRow, y[r] as number, units, gRow);
        for (let k = 0; k < strideL; k++)
          f32[dL + i * strideL + k] = k < units ? (gRow[k] as number) * weight : 0;
      }
      for (let l = layers - 1; l >= 0; l--) {
        wasm.backward(
          4 * W[l]!,
          nP[l + 1]!,
          4 * D[l + 1]!,
          4 * (gradOffset + W[l]!),
          4 * (gradOffset + B[l]!),
          4 * idx[l]!,
          4 * val[l]!,
          4 * bounds[l]!,
          rows,
          l > 0 ? 1 : 0,
          4 * F[l]!,
          4 * D[l]!,
          nP[l]!,
        );
      }
      storeGradient(G);
      return loss;
    },
    logits(P, x, count) {
      const out = new Float32Array(count * units);
      plan(Math.min(count, LOGIT_BLOCK), Math.min(count, LOGIT_BLOCK) * width);
      loadParams(P);
      const zL = Z[layers] as number;
      const strideL = nP[layers] as number;
      for (let first = 0; first < count; first += LOGIT_BLOCK) {
        const rows = Math.min(LOGIT_BLOCK, count - first);
        // The rows' non-zeros in column order: the same sums the training pass makes from CSR.
        const idx0 = idx[0] as number;
        const val0 = val[0] as number;
        const b0 = bounds[0] as number;
        for (let i = 0, p = 0; i < rows; i++) {
          i32[b0 + 2 * i] = p;
          for (let j = 0, at = (first + i) * width; j < width; j++) {
            const v = x[at + j] as number;
            if (v === 0) continue;
            i32[idx0 + p] = j;
            f32[val0 + p] = v;
            p++;
          }
          i32[b0 + 2 * i + 1] = p;
        }
        forwardFrom(rows, 0, 0, 0, 0);
        for (let i = 0; i < rows; i++) {
          for (let k = 0; k < units; k++) out[(first + i) * units + k] = f32[zL + i * strideL + k] as number;
        }
      }
      return out;
    },
  };
}
