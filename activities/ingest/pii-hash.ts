import { createHash } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';

const blockSize = 64; // SHA-256 block size in bytes (RFC 2104)
const ipadVariable = 'sluice_pii_ipad';
const opadVariable = 'sluice_pii_opad';

/**
 * The two HMAC-SHA256 key blocks (RFC 2104): the key, hashed if longer than a block, zero-padded to
 * 64 bytes, XORed with 0x36 (inner) and 0x5c (outer).
 */
export function hmacKeyBlocks(key: string): { ipad: Uint8Array; opad: Uint8Array } {
  let bytes = Buffer.from(key, 'utf8');
  if (bytes.length > blockSize) bytes = createHash('sha256').update(bytes).digest();
  const block = Buffer.alloc(blockSize);
  bytes.copy(block);
  return { ipad: block.map((b) => b ^ 0x36), opad: block.map((b) => b ^ 0x5c) };
}

/**
 * Hand the key blocks to DuckDB as session variables, bound through a prepared statement so the key
 * never appears in SQL text (and so never in an error message that quotes a query).
 */
export async function installHmacKey(db: DuckDBConnection, key: string): Promise<void> {
  const { ipad, opad } = hmacKeyBlocks(key);
  for (const [name, value] of [
    [ipadVariable, ipad],
    [opadVariable, opad],
  ] as const) {
    const statement = await db.prepare(`SET VARIABLE ${name} = $1`);
    statement.bindBlob(1, value);
    await statement.run();
  }
}

/**
 * SQL for HMAC-SHA256(key, value as UTF-8 text), lowercase hex: `H(opad || H(ipad || m))`.
 *
 * Why HMAC and why in SQL: a plain `sha256(key || value)` is open to length extension and, for small
 * value spaces (phone numbers, card numbers), to dictionary attacks by anyone who learns the scheme;
 * a keyed HMAC is not reversible without the key. Computing it in DuckDB keeps ingest vectorised and
 * streaming (no value ever enters JavaScript) and costs two SHA-256 calls per value. Values are hashed
 * as their DuckDB text (`CAST(x AS VARCHAR)`), so `42` and `'42'` hash alike; NULL stays NULL.
 */
export function hmacSql(expression: string): string {
  const inner = `sha256(getvariable('${ipadVariable}') || encode(CAST(${expression} AS VARCHAR)))`;
  return `sha256(getvariable('${opadVariable}') || unhex(${inner}))`;
}
