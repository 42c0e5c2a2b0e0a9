/**
 * Seeded randomness for training and search. Every random choice (initial weights, epoch order,
 * dropout, bootstrap resamples, random-search trials) comes from here, derived from the run's seed and
 * the position in training, so a rerun — or a resumed attempt — draws exactly the same numbers.
 * `Math.random` is never used. Pure and sandbox-safe: workflows may use it too.
 */
export type Random = () => number;

/** mulberry32: tiny, fast, and good enough for shuffling and initialisation. Values in [0, 1). */
export function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed for one purpose at one position, e.g. `deriveSeed(seed, EPOCH_ORDER, epoch)`. */
export function deriveSeed(seed: number, ...path: number[]): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const part of path) {
    h = Math.imul(h ^ (part >>> 0), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

/** Purposes, so two uses of one seed never draw the same stream. */
export const SEED_PURPOSE = { init: 1, order: 2, dropout: 3, bootstrap: 4, search: 5, stream: 6 } as const;

/** A seeded Fisher–Yates permutation of `0 … n-1`. */
export function permutation(n: number, random: Random): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i] as number;
    order[i] = order[j] as number;
    order[j] = t;
  }
  return order;
}
