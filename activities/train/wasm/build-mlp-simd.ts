import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/**
 * Builds the typed-array MLP's WebAssembly SIMD kernel (mlp-simd.as, AssemblyScript) into
 * mlp-simd-module.ts, the base64 module that runs: `npm run build:mlp-simd`. The compiler is a
 * devDependency; nothing at run time needs it. test/unit/train-typed-mlp-simd.test.ts rebuilds the
 * module and checks that it equals the committed one, so an edit of the source without a rebuild
 * fails the tests.
 */

const SOURCE = new URL('./mlp-simd.as', import.meta.url);
const MODULE = new URL('./mlp-simd-module.ts', import.meta.url);

/** The compiler's options: -O3, no runtime (the kernel allocates nothing), SIMD on. */
const OPTIONS = {
  optimizeLevel: 3,
  shrinkLevel: 0,
  runtime: 'stub',
  noAssert: true,
  enable: ['simd'],
} as const;

const COMPILER = 'assemblyscript/asc';

/** The part of the compiler's API used here. */
interface Asc {
  compileString(
    sources: Record<string, string>,
    options: object,
  ): Promise<{ error: Error | null; binary: Uint8Array | null; stderr: { toString(): string } }>;
}

/** The module compiled from the committed source. */
export async function compileMlpSimd(): Promise<Uint8Array> {
  // Named through a variable: the compiler's type declarations would pull AssemblyScript's standard
  // library into the program (where `Array.prototype.at` never returns undefined, for one).
  const { default: asc } = (await import(COMPILER)) as { default: Asc };
  const source = await readFile(SOURCE, 'utf8');
  // The compiler reads only `.ts` names; the source keeps another extension so that TypeScript and
  // ESLint, which would not understand its `v128` and `usize`, leave it alone.
  const result = await asc.compileString(
    { 'mlp-simd.ts': source },
    { ...OPTIONS, enable: [...OPTIONS.enable] },
  );
  if (result.error || !result.binary) {
    throw new Error(
      `AssemblyScript could not compile ${fileURLToPath(SOURCE)}: ${result.error?.message ?? 'no binary'}\n${result.stderr.toString()}`,
    );
  }
  return result.binary;
}

/** The text of mlp-simd-module.ts for `binary`. */
export function moduleText(binary: Uint8Array): string {
  return [
    '// Generated from mlp-simd.as by build-mlp-simd.ts (`npm run build:mlp-simd`): do not edit.',
    '',
    '/** The typed-array MLP kernel in WebAssembly SIMD (mlp-simd.as), as base64. */',
    `export const MLP_SIMD_WASM =\n  '${Buffer.from(binary).toString('base64')}';`,
    '',
  ].join('\n');
}

/** The path of the committed module file (the test reads it). */
export const MODULE_PATH = fileURLToPath(MODULE);

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const binary = await compileMlpSimd();
  await writeFile(MODULE, moduleText(binary));
  console.log(`wrote ${MODULE_PATH} (${binary.length} bytes of WebAssembly)`);
}
