import { z } from 'zod';

/** Bytes per unit: the binary units (`KiB`, `MiB`, `GiB`, `TiB`) are powers of 1,024, the decimal ones of 1,000. */
const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

const SIZE = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i;

/**
 * The default `trainer.memory`: the most a training split may take as a dense matrix before training
 * streams it from the snapshot in chunks (docs/training.md, "Memory"). 512 MiB keeps the 3M-row
 * flights set (2.4M train rows × 52 inputs, 494 MiB with labels and weights) in memory, where it
 * trains in under 1 GiB with Node, DuckDB and TF.js around it (~400 MiB); a larger split streams
 * in chunks of at most this much.
 */
export const DEFAULT_TRAIN_MEMORY = 512 * 2 ** 20;

/** A size in bytes: `'512MiB'`, `'2GiB'`, `'1.5GB'`, or a number of bytes; undefined when it is not one. */
export function parseMemorySize(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  const match = SIZE.exec(value);
  if (!match) return undefined;
  const unit = UNITS[(match[2] ?? '').toLowerCase() || 'b'];
  if (unit === undefined) return undefined;
  const bytes = Math.floor(Number(match[1]) * unit);
  return bytes > 0 && Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** `512 MiB`, `1.5 GiB`, `96 KiB`: how messages show a size. */
export function formatMemorySize(bytes: number): string {
  for (const [unit, size] of [
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(bytes >= 10 * size ? 0 : 1))} ${unit}`;
  }
  return `${bytes} B`;
}

/**
 * `trainer.memory`: how much memory the training split may take as a dense matrix (rows × (inputs + 2)
 * × 4 bytes, labels and weights included) before it is streamed in chunks. Kept as written (a string
 * or a number), so a spec's hash and its JSON stay what the engineer wrote.
 */
export const memorySizeSchema = z
  .union([z.string(), z.number()])
  .refine((value) => parseMemorySize(value) !== undefined, {
    message: "expected a size such as '512MiB', '2GiB' or '800MB' (a number is bytes, a positive integer)",
  })
  .describe(
    "Memory the training split may take as a dense matrix before it is streamed in chunks from the snapshot, e.g. '2GiB' (default '512MiB').",
  );
