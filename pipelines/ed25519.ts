import { sha512 } from './sha512.js';

/**
 * Ed25519 signature verification (RFC 8032, section 5.1.7) in plain TypeScript, sandbox-safe: the
 * approval gate verifies signed decisions in workflow code, deterministically, so a replay re-checks
 * every signature (docs/architecture.md decision 12). The workflow sandbox has no Node crypto, and WebCrypto's
 * promise-based `verify` does not belong in workflow code. Verification only: signing stays with the
 * key holder (Node's crypto in `lib/keys.ts`, WebCrypto in a browser).
 *
 * The check is the cofactorless one ([S]B − [k]A encoded equals R), as OpenSSL and the reference code
 * do, so this and `crypto.verify` agree on every input.
 */
const p = 2n ** 255n - 19n;
/** The order of the base point. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

const mod = (a: bigint, m = p): bigint => {
  const r = a % m;
  return r >= 0n ? r : r + m;
};

function pow(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % p;
    b = (b * b) % p;
    e >>= 1n;
  }
  return result;
}

const inverse = (a: bigint): bigint => pow(a, p - 2n);
const d = mod(-121665n * inverse(121666n));
const d2 = mod(2n * d);
const sqrtMinusOne = pow(2n, (p - 1n) / 4n);

/** A point in extended coordinates (X:Y:Z:T), x = X/Z, y = Y/Z, xy = T/Z. */
type Point = readonly [bigint, bigint, bigint, bigint];
const identity: Point = [0n, 1n, 1n, 0n];

function add([x1, y1, z1, t1]: Point, [x2, y2, z2, t2]: Point): Point {
  const a = mod((y1 - x1) * (y2 - x2));
  const b = mod((y1 + x1) * (y2 + x2));
  const c = mod(t1 * d2 * t2);
  const dd = mod(z1 * 2n * z2);
  const e = b - a;
  const f = dd - c;
  const g = dd + c;
  const h = b + a;
  return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)];
}

function double([x1, y1, z1]: Point): Point {
  const a = mod(x1 * x1);
  const b = mod(y1 * y1);
  const c = mod(2n * z1 * z1);
  const h = a + b;
  const e = mod(h - (x1 + y1) * (x1 + y1));
  const g = a - b;
  const f = c + g;
  return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)];
}

function multiply(point: Point, scalar: bigint): Point {
  let result = identity;
  let addend = point;
  for (let k = scalar; k > 0n; k >>= 1n) {
    if (k & 1n) result = add(result, addend);
    addend = double(addend);
  }
  return result;
}

const negate = ([x, y, z, t]: Point): Point => [mod(-x), y, z, mod(-t)];

function littleEndian(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] ?? 0);
  return n;
}

/** RFC 8032 5.1.3: a point from its 32-byte encoding, or null when it is not on the curve. */
function decodePoint(bytes: Uint8Array): Point | null {
  if (bytes.length !== 32) return null;
  const sign = ((bytes[31] ?? 0) & 0x80) !== 0;
  const copy = Uint8Array.from(bytes);
  copy[31] = (copy[31] ?? 0) & 0x7f;
  const y = littleEndian(copy);
  if (y >= p) return null;
  const u = mod(y * y - 1n);
  const v = mod(d * y * y + 1n);
  let x = mod(u * pow(v, 3n) * pow(u * pow(v, 7n), (p - 5n) / 8n));
  const vx2 = mod(v * x * x);
  if (vx2 === mod(-u)) x = mod(x * sqrtMinusOne);
  else if (vx2 !== u) return null;
  if (x === 0n && sign) return null;
  if ((x & 1n) !== (sign ? 1n : 0n)) x = mod(-x);
  return [x, y, 1n, mod(x * y)];
}

function encodePoint([x, y, z]: Point): Uint8Array {
  const zi = inverse(z);
  const ax = mod(x * zi);
  let ay = mod(y * zi);
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++, ay >>= 8n) out[i] = Number(ay & 0xffn);
  out[31] = (out[31] ?? 0) | (ax & 1n ? 0x80 : 0);
  return out;
}

const base = decodePoint(
  (() => {
    // y = 4/5, x even: the encoding of the base point B.
    let y = mod(4n * inverse(5n));
    const out = new Uint8Array(32);
    for (let i = 0; i < 32; i++, y >>= 8n) out[i] = Number(y & 0xffn);
    return out;
  })(),
) as Point;

/**
 * Whether `signature` (64 bytes) is a valid Ed25519 signature of `message` under `publicKey` (32 bytes).
 * False for any malformed input; never throws.
 */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  const a = decodePoint(publicKey);
  if (!a) return false;
  const r = signature.subarray(0, 32);
  const s = littleEndian(signature.subarray(32, 64));
  if (s >= L) return false;
  const hashed = new Uint8Array(64 + message.length);
  hashed.set(r, 0);
  hashed.set(publicKey, 32);
  hashed.set(message, 64);
  const k = mod(littleEndian(sha512(hashed)), L);
  const check = encodePoint(add(multiply(base, s), multiply(negate(a), k)));
  let diff = 0;
  for (let i = 0; i < 32; i++) diff |= (check[i] ?? 0) ^ (r[i] ?? 0);
  return diff === 0;
}
