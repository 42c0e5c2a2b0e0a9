import { createHash } from 'node:crypto';

/**
 * One hash with two implementations that agree bit for bit: SQL for DuckDB (batch transform, splits)
 * and JavaScript (online transform, tests). md5 rather than DuckDB's `hash()` because md5 is the same
 * in every DuckDB version and in Node, so splits and hashed features are stable across upgrades.
 */
export function hash32Sql(textExpression: string): string {
  return `('0x' || left(md5(${textExpression}), 8))::BIGINT`;
}

/** The first 32 bits of md5(text), as an unsigned integer: equal to {@link hash32Sql}. */
export function hash32(text: string): number {
  return parseInt(createHash('md5').update(text).digest('hex').slice(0, 8), 16);
}
