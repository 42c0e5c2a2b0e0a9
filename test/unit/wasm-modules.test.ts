import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  compileKernel,
  moduleText,
  modulePath,
  WASM_KERNELS,
} from '../../activities/train/wasm/build-wasm.js';

describe('the committed WebAssembly kernels', () => {
  it.each(WASM_KERNELS.map((kernel) => [kernel.name, kernel] as const))(
    '%s: is what its AssemblyScript source compiles to (run `npm run build:wasm` after editing it)',
    async (_, kernel) => {
      const committed = await readFile(modulePath(kernel), 'utf8');
      expect(committed).toBe(moduleText(kernel, await compileKernel(kernel)));
    },
    60_000,
  );
});
