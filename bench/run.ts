import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { report, type BenchResult } from './harness.js';

/**
 * `npm run bench -- <name> [args…]`: run `bench/<name>.bench.ts` (the args are its own, e.g. `--quick`),
 * print its table, write its JSON.
 */
const name = process.argv[2];
const dir = fileURLToPath(new URL('./', import.meta.url));
const available = (await readdir(dir))
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace('.bench.ts', ''));
if (!name || !available.includes(name)) {
  process.stderr.write(
    `sluice bench: ${name ? `no bench "${name}"` : 'name a bench'}: choose one of ${available.join(', ')}\n`,
  );
  process.exit(1);
}
const bench = (await import(`./${name}.bench.ts`)) as { run: (args: string[]) => Promise<BenchResult> };
await report(await bench.run(process.argv.slice(3)));
