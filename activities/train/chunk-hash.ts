/**
 * Which chunk row `row` falls in, for an epoch whose key is `key`: a 32-bit integer hash of the row's
 * key (lowbias32, written in DuckDB's unsigned integer arithmetic by {@link chunkOfSql}), modulo
 * `chunks`. A fresh key every epoch deals the rows into fresh chunks: each chunk is a uniformly random
 * share of the split, and no two rows stay together from epoch to epoch. Integer arithmetic, not md5
 * or DuckDB's `hash()`: the same in every DuckDB version, and cheap enough to compute every epoch.
 */
export function chunkOf(row: number, key: number, chunks: number): number {
  let x = (row ^ key) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  return x % chunks;
}

/** {@link chunkOf} in SQL, over an integer row key expression (UBIGINT: products stay below 2⁶⁴). */
export function chunkOfSql(row: string, key: number, chunks: number): string {
  const M = '4294967295::UBIGINT';
  const shift = (x: string, by: number) => `xor(${x}, ${x} >> ${by})`;
  const times = (x: string, c: number) => `((${x} * ${c}::UBIGINT) & ${M})`;
  const x0 = `(xor((${row})::UBIGINT & ${M}, ${key >>> 0}::UBIGINT))`;
  const x1 = times(shift(x0, 16), 0x7feb352d);
  const x2 = times(shift(x1, 15), 0x846ca68b);
  return `(${shift(x2, 16)} % ${chunks})`;
}
