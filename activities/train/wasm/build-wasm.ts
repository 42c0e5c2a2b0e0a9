import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/**
 * Builds the trainers' WebAssembly kernels (`<name>.as`, AssemblyScript) into `<name>-module.ts`, the
 * base64 module that runs: `npm run build:wasm`. The compiler is a devDependency; nothing at run time
 * needs it. test/unit/wasm-modules.test.ts rebuilds every module and checks that it equals the
 * committed one, so an edit of a source without a rebuild fails the tests.
 */

export interface WasmKernel {
  /** `<name>.as` beside this file is compiled into `<name>-module.ts`, exporting `constant`. */
  name: string;
  constant: string;
  description: string;
  /** WebAssembly features beyond the MVP, e.g. `simd`. */
  enable: string[];
}

export const WASM_KERNELS: WasmKernel[] = [
  {
    name: 'linear-rows',
    constant: 'LINEAR_ROWS_WASM',
    description: 'The linear trainer’s per-batch kernel in WebAssembly (linear-rows.as)',
    enable: [],
  },
  {
    name: 'mlp-simd',
    constant: 'MLP_SIMD_WASM',
    description: 'The typed-array MLP kernel in WebAssembly SIMD (mlp-simd.as)',
    enable: ['simd'],
  },
];

/**
 * The compiler's options: -O3, no assertions, and AssemblyScript's smallest runtime, which that
 * compiler names `stub` (a bump allocator, no garbage collector: the kernels allocate nothing).
 */
const OPTIONS = { optimizeLevel: 3, shrinkLevel: 0, runtime: 'stub', noAssert: true } as const;

/** The part of the compiler's API used here. */
interface Asc {
  compileString(
    sources: Record<string, string>,
    options: object,
  ): Promise<{ error: Error | null; binary: Uint8Array | null; stderr: { toString(): string } }>;
}

/**
 * The compiler's module, named through a variable: its type declarations pull AssemblyScript's
 * standard library into the program (where `Array.prototype.at` never returns undefined, for one).
 */
const COMPILER = 'assemblyscript/asc';

const here = (file: string) => fileURLToPath(new URL(`./${file}`, import.meta.url));

/** The module compiled from the committed source of `kernel`. */
export async function compileKernel(kernel: WasmKernel): Promise<Uint8Array> {
  const { default: asc } = (await import(COMPILER)) as { default: Asc };
  const path = here(`${kernel.name}.as`);
  const source = await readFile(path, 'utf8');
  // The compiler reads only `.ts` names; the sources keep another extension so that TypeScript and
  // ESLint, which would not understand `usize` or `v128`, leave them alone.
  const result = await asc.compileString(
    { [`${kernel.name}.ts`]: source },
    { ...OPTIONS, enable: [...kernel.enable] },
  );
  if (result.error || !result.binary) {
    throw new Error(
      `AssemblyScript could not compile ${path}: ${result.error?.message ?? 'no binary'}\n${result.stderr.toString()}`,
    );
  }
  return result.binary;
}

/** The text of `<name>-module.ts` for `binary`. */
export function moduleText(kernel: WasmKernel, binary: Uint8Array): string {
  return [
    `// Generated from ${kernel.name}.as by build-wasm.ts (\`npm run build:wasm\`): do not edit.`,
    '',
    `/** ${kernel.description}, as base64. */`,
    `export const ${kernel.constant} =\n  '${Buffer.from(binary).toString('base64')}';`,
    '',
  ].join('\n');
}

/** The path of a kernel's committed module file. */
export function modulePath(kernel: WasmKernel): string {
  return here(`${kernel.name}-module.ts`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const kernel of WASM_KERNELS) {
    const binary = await compileKernel(kernel);
    await writeFile(modulePath(kernel), moduleText(kernel, binary));
    console.log(`wrote ${modulePath(kernel)} (${binary.length} bytes of WebAssembly)`);
  }
}
