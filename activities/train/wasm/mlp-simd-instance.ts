import { MLP_SIMD_WASM } from './mlp-simd-module.js';

/** The part of the WebAssembly JS API used here (the project's `lib` declares none of it). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule) => { exports: unknown };
}
interface WasmModule {
  readonly kind?: 'module';
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The exports of mlp-simd.as (pointers are byte offsets into `memory`). */
export interface SimdExports {
  memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  forward(
    W: number,
    B: number,
    nP: number,
    idx: number,
    val: number,
    bounds: number,
    rows: number,
    Z: number,
  ): void;
  activate(
    Z: number,
    F: number,
    nP: number,
    n: number,
    rows: number,
    relu: number,
    dropout: number,
    seed: number,
    drawBase: number,
    position: number,
    below: number,
    keep: number,
    idx: number,
    val: number,
    bounds: number,
    lut: number,
  ): void;
  backward(
    W: number,
    nP: number,
    D: number,
    G: number,
    GB: number,
    idx: number,
    val: number,
    bounds: number,
    rows: number,
    down: number,
    F: number,
    Din: number,
    nInP: number,
  ): void;
}

let compiled: WasmModule | null | undefined;

/** The compiled module, or null where this runtime has no WebAssembly SIMD. */
function simdModule(): WasmModule | null {
  if (compiled === undefined) {
    const bytes = Buffer.from(MLP_SIMD_WASM, 'base64');
    compiled = wasmApi.validate(bytes) ? new wasmApi.Module(bytes) : null;
  }
  return compiled;
}

/** Whether this runtime runs the module (WebAssembly SIMD; Node 20 has it). */
export function mlpSimdRuns(): boolean {
  return simdModule() !== null;
}

/** A new instance of the module, with its own linear memory (empty until the caller grows it). */
export function instantiateMlpSimd(): SimdExports {
  const module = simdModule();
  if (!module)
    throw new Error('the WebAssembly SIMD MLP kernel cannot run: this runtime has no WebAssembly SIMD');
  return new wasmApi.Instance(module).exports as SimdExports;
}
