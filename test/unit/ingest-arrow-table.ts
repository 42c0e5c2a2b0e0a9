import {
  Binary,
  Bool,
  DateDay,
  DateMillisecond,
  Dictionary,
  Float16,
  Float32,
  Float64,
  Int32,
  Int64,
  Int8,
  Table,
  Timestamp,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  TimestampSecond,
  TimeUnit,
  Uint64,
  Utf8,
  makeData,
  makeVector,
  vectorFromArray,
  type DataType,
} from 'apache-arrow';

/**
 * An Arrow table exercising every column type ingest converts, with nulls, NaN/±Infinity and values
 * past the signed 64-bit range, split into two record batches of 2,500 rows (so the loader's
 * 2,048-row chunks straddle batch boundaries and read sliced buffers). Row `i` holds values computed
 * from `i`, so the snapshot can be checked row by row in SQL ({@link arrowChecks}).
 */
export function arrowFixture(rows = 5000): Table {
  const idx = Array.from({ length: rows }, (_, i) => i);
  const every = <T>(f: (i: number) => T, nullEvery: number) =>
    idx.map((i) => (i % nullEvery === 0 ? null : f(i)));
  const sec = (i: number) => BigInt(1_600_000_000 + i);
  const raw = <T extends DataType>(type: T, data: Int32Array | BigInt64Array) =>
    makeVector(makeData({ type, length: rows, data } as Parameters<typeof makeData>[0]));
  const whole = new Table({
    i: vectorFromArray(idx, new Int32()),
    i8: vectorFromArray(
      every((i) => (i % 100) - 50, 7),
      new Int8(),
    ),
    i64: vectorFromArray(
      every((i) => BigInt(i) * 1_000_000_007n, 11),
      new Int64(),
    ),
    u64: vectorFromArray(
      idx.map((i) => BigInt(i) + 2n ** 63n),
      new Uint64(),
    ),
    f16: vectorFromArray(
      idx.map((i) => (i % 8) / 2),
      new Float16(),
    ),
    f32: vectorFromArray(
      idx.map((i) => i / 2),
      new Float32(),
    ),
    f64: vectorFromArray(
      idx.map((i) => (i % 13 === 0 ? null : i === 1 ? NaN : i === 2 ? Infinity : i / 4)),
      new Float64(),
    ),
    b: vectorFromArray(
      every((i) => i % 2 === 0, 17),
      new Bool(),
    ),
    s: vectorFromArray(
      every((i) => `s${i}`, 19),
      new Utf8(),
    ),
    dict: vectorFromArray(
      idx.map((i) => ['red', 'green', 'blue'][i % 3]!),
      new Dictionary(new Utf8(), new Int32()),
    ),
    bin: vectorFromArray(
      idx.map((i) => Uint8Array.from([i & 255, 1, 2])),
      new Binary(),
    ),
    d: raw(new DateDay(), Int32Array.from(idx.map((i) => 18262 + i))),
    dms: raw(new DateMillisecond(), BigInt64Array.from(idx.map((i) => BigInt(18262 + i) * 86_400_000n))),
    ts_s: raw(new TimestampSecond(), BigInt64Array.from(idx.map(sec))),
    ts_ms: raw(new TimestampMillisecond(), BigInt64Array.from(idx.map((i) => sec(i) * 1000n + 123n))),
    ts_us: raw(new TimestampMicrosecond(), BigInt64Array.from(idx.map((i) => sec(i) * 1_000_000n + 456n))),
    ts_ns: raw(new TimestampNanosecond(), BigInt64Array.from(idx.map((i) => sec(i) * 1_000_000_000n + 789n))),
    tz: raw(
      new Timestamp(TimeUnit.MILLISECOND, 'UTC'),
      BigInt64Array.from(idx.map((i) => sec(i) * 1000n + 5n)),
    ),
  });
  const [batch] = whole.batches;
  const half = Math.floor(rows / 2);
  return new Table([batch!.slice(0, half), batch!.slice(half, rows)]);
}

/** One SQL check per column of {@link arrowFixture}: each counts the rows holding the expected value. */
export const arrowChecks: Record<string, string> = {
  i8: 'i8 IS NOT DISTINCT FROM CASE WHEN i % 7 = 0 THEN NULL ELSE (i % 100) - 50 END',
  i64: 'i64 IS NOT DISTINCT FROM CASE WHEN i % 11 = 0 THEN NULL ELSE i::BIGINT * 1000000007 END',
  u64: 'u64 = i::UBIGINT + 9223372036854775808::UBIGINT',
  f16: 'f16 = (i % 8) / 2',
  f32: 'f32 = i / 2',
  f64:
    "(i % 13 = 0 AND f64 IS NULL) OR (i = 1 AND isnan(f64)) OR (i = 2 AND f64 = 'inf'::DOUBLE) " +
    'OR (i > 2 AND i % 13 <> 0 AND f64 = i / 4)',
  b: 'b IS NOT DISTINCT FROM CASE WHEN i % 17 = 0 THEN NULL ELSE i % 2 = 0 END',
  s: "s IS NOT DISTINCT FROM CASE WHEN i % 19 = 0 THEN NULL ELSE 's' || i END",
  dict: "dict = ['red', 'green', 'blue'][i % 3 + 1]",
  bin: "hex(bin) = printf('%02X0102', i % 256)",
  d: "d = DATE '2020-01-01' + i",
  dms: "dms = DATE '2020-01-01' + i",
  ts_s: 'epoch(ts_s) = 1600000000 + i',
  ts_ms: 'epoch_ms(ts_ms) = (1600000000 + i)::BIGINT * 1000 + 123',
  ts_us: 'epoch_us(ts_us) = (1600000000 + i)::BIGINT * 1000000 + 456',
  ts_ns: 'epoch_ns(ts_ns) = (1600000000 + i)::BIGINT * 1000000000 + 789',
  tz: 'epoch_ms(tz) = (1600000000 + i)::BIGINT * 1000 + 5',
};
