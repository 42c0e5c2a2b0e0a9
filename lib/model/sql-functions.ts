import {
  FeatureCompileError,
  roundHalfAway,
  SqlRuntimeError,
  timestampParts,
  unify,
  type Compiled,
  type Evaluate,
  type SqlType,
  type SqlValue,
} from './sql-values.js';

/**
 * The DuckDB functions serving evaluates in derived features, each checking its argument types at
 * compile time and computing what DuckDB computes (errors where DuckDB raises one, e.g. `ln(0)`).
 */
export type SqlFunction = (args: Compiled[]) => Compiled;

const isNumeric = (t: SqlType) => t === 'int' || t === 'double' || t === 'decimal' || t === 'null';

function arity(name: string, args: Compiled[], min: number, max = min): void {
  if (args.length < min || args.length > max) {
    const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    throw new FeatureCompileError(
      `${name}() takes ${want} argument${want === '1' ? '' : 's'}, not ${args.length}`,
    );
  }
}

function expect(name: string, arg: Compiled, ok: (t: SqlType) => boolean, what: string): void {
  if (!ok(arg.type)) throw new FeatureCompileError(`${name}() needs ${what}, not ${arg.type}`);
}

/** A one-argument function over a non-null value; NULL in, NULL out. */
function map1(type: SqlType, f: Evaluate, g: (v: Exclude<SqlValue, null>) => SqlValue): Compiled {
  return {
    type,
    eval: (row) => {
      const v = f(row);
      return v === null ? null : g(v);
    },
  };
}

function math(name: string, g: (x: number) => number, domain?: (x: number) => string | null): SqlFunction {
  return (args) => {
    arity(name, args, 1);
    const [a] = args as [Compiled];
    expect(name, a, isNumeric, 'a number');
    return map1('double', a.eval, (v) => {
      const problem = domain?.(v as number);
      if (problem) throw new SqlRuntimeError(`${name}(${String(v)}): ${problem}`);
      return g(v as number);
    });
  };
}

const logDomain = (x: number) =>
  x === 0 ? 'cannot take logarithm of zero' : x < 0 ? 'cannot take logarithm of a negative number' : null;

function datePart(name: string, part: (p: ReturnType<typeof timestampParts>) => number): SqlFunction {
  return (args) => {
    arity(name, args, 1);
    const [a] = args as [Compiled];
    expect(name, a, (t) => t === 'date' || t === 'timestamp' || t === 'null', 'a DATE or TIMESTAMP');
    const scale = a.type === 'date' ? 86_400_000_000 : 1;
    return map1('int', a.eval, (v) => part(timestampParts((v as number) * scale)));
  };
}

/** 0 = Sunday … 6 = Saturday, from days since 1970-01-01 (a Thursday). */
const dayOfWeek = (days: number) => (((days + 4) % 7) + 7) % 7;

const parts: Record<string, SqlFunction> = {
  year: datePart('year', (p) => p.year),
  month: datePart('month', (p) => p.month),
  day: datePart('day', (p) => p.day),
  dayofmonth: datePart('dayofmonth', (p) => p.day),
  hour: datePart('hour', (p) => p.hour),
  minute: datePart('minute', (p) => p.minute),
  second: datePart('second', (p) => p.second),
  quarter: datePart('quarter', (p) => Math.floor((p.month - 1) / 3) + 1),
  dayofweek: datePart('dayofweek', (p) => dayOfWeek(p.days)),
  weekday: datePart('weekday', (p) => dayOfWeek(p.days)),
  isodow: datePart('isodow', (p) => dayOfWeek(p.days) || 7),
  dayofyear: datePart('dayofyear', (p) => p.days - Math.round(Date.UTC(p.year, 0, 1) / 86_400_000) + 1),
};

const partAliases: Record<string, string> = {
  dow: 'dayofweek',
  doy: 'dayofyear',
  days: 'day',
  hours: 'hour',
  minutes: 'minute',
  seconds: 'second',
  years: 'year',
  months: 'month',
};

function extremum(name: string, pick: (a: number | string, b: number | string) => boolean): SqlFunction {
  return (args) => {
    arity(name, args, 1, Infinity);
    const type = unify(
      args.map((a) => a.type),
      `${name}()`,
    );
    if (!isNumeric(type) && type !== 'text' && type !== 'date' && type !== 'timestamp') {
      throw new FeatureCompileError(`${name}() needs numbers, text or dates, not ${type}`);
    }
    const fs = args.map((a) => a.eval);
    return {
      type,
      eval: (row) => {
        let best: number | string | null = null;
        for (const f of fs) {
          const v = f(row) as number | string | null;
          if (v !== null && (best === null || pick(v, best))) best = v;
        }
        return best;
      },
    };
  };
}

function text1(name: string, g: (s: string) => SqlValue, type: SqlType = 'text'): SqlFunction {
  return (args) => {
    arity(name, args, 1);
    const [a] = args as [Compiled];
    expect(name, a, (t) => t === 'text' || t === 'null', 'text');
    return map1(type, a.eval, (v) => g(v as string));
  };
}

function text2(name: string, g: (s: string, t: string) => boolean): SqlFunction {
  return (args) => {
    arity(name, args, 2);
    for (const a of args) expect(name, a, (t) => t === 'text' || t === 'null', 'text');
    const [f, h] = args.map((a) => a.eval) as [Evaluate, Evaluate];
    return {
      type: 'bool',
      eval: (row) => {
        const s = f(row);
        const t = h(row);
        return s === null || t === null ? null : g(s as string, t as string);
      },
    };
  };
}

function roundTo(x: number, digits: number): number {
  if (digits === 0) return roundHalfAway(x);
  const modifier = 10 ** Math.abs(digits);
  const rounded =
    digits > 0 ? roundHalfAway(x * modifier) / modifier : roundHalfAway(x / modifier) * modifier;
  return Number.isFinite(rounded) ? rounded : x;
}

const coalesce: SqlFunction = (args) => {
  arity('coalesce', args, 1, Infinity);
  const type = unify(
    args.map((a) => a.type),
    'coalesce()',
  );
  const fs = args.map((a) => a.eval);
  return {
    type,
    eval: (row) => {
      for (const f of fs) {
        const v = f(row);
        if (v !== null) return v;
      }
      return null;
    },
  };
};

export const sqlFunctions: Record<string, SqlFunction> = {
  ...parts,
  date_part: (args) => {
    arity('date_part', args, 2);
    const [p, x] = args as [Compiled, Compiled];
    const raw = p.literal && typeof p.eval([]) === 'string' ? (p.eval([]) as string).toLowerCase() : null;
    const name = raw === null ? null : (partAliases[raw] ?? raw);
    const fn = name === null ? undefined : parts[name];
    if (!fn) {
      throw new FeatureCompileError(
        `date_part / EXTRACT needs a literal part among ${Object.keys(parts).join(', ')}`,
      );
    }
    return fn([x]);
  },
  abs: (args) => {
    arity('abs', args, 1);
    const [a] = args as [Compiled];
    expect('abs', a, isNumeric, 'a number');
    return map1(a.type === 'decimal' ? 'double' : a.type, a.eval, (v) => Math.abs(v as number));
  },
  sign: (args) => {
    arity('sign', args, 1);
    const [a] = args as [Compiled];
    expect('sign', a, isNumeric, 'a number');
    return map1('int', a.eval, (v) => ((v as number) > 0 ? 1 : (v as number) < 0 ? -1 : 0));
  },
  ln: math('ln', Math.log, logDomain),
  log: math('log', Math.log10, logDomain),
  log10: math('log10', Math.log10, logDomain),
  log2: math('log2', Math.log2, logDomain),
  exp: math('exp', Math.exp),
  sqrt: math('sqrt', Math.sqrt, (x) => (x < 0 ? 'cannot take square root of a negative number' : null)),
  cbrt: math('cbrt', Math.cbrt),
  pow: (args) => powFn('pow', args),
  power: (args) => powFn('power', args),
  round: (args) => {
    arity('round', args, 1, 2);
    const [a, d] = args as [Compiled, Compiled | undefined];
    expect('round', a, isNumeric, 'a number');
    const digits = d?.literal ? d.eval([]) : d === undefined ? 0 : undefined;
    if (typeof digits !== 'number' || !Number.isInteger(digits)) {
      throw new FeatureCompileError('round() takes the digits as an integer literal, e.g. round(x, 2)');
    }
    if (a.type === 'decimal')
      throw new FeatureCompileError('round() of a decimal literal: write it as a DOUBLE');
    if (a.type === 'int' && digits >= 0) return a;
    return map1(a.type === 'int' ? 'int' : 'double', a.eval, (v) => roundTo(v as number, digits));
  },
  floor: math('floor', Math.floor),
  ceil: math('ceil', Math.ceil),
  ceiling: math('ceiling', Math.ceil),
  isnan: (args) => numericTest('isnan', args, Number.isNaN),
  isinf: (args) => numericTest('isinf', args, (x) => x === Infinity || x === -Infinity),
  isfinite: (args) => numericTest('isfinite', args, Number.isFinite),
  greatest: extremum('greatest', (a, b) => a > b),
  least: extremum('least', (a, b) => a < b),
  coalesce,
  ifnull: (args) => {
    arity('ifnull', args, 2);
    return coalesce(args);
  },
  nullif: (args) => {
    arity('nullif', args, 2);
    const [a, b] = args as [Compiled, Compiled];
    unify([a.type, b.type], 'nullif()');
    return {
      type: a.type,
      eval: (row) => {
        const v = a.eval(row);
        return v !== null && v === b.eval(row) ? null : v;
      },
    };
  },
  if: (args) => {
    arity('if', args, 3);
    const [c, a, b] = args as [Compiled, Compiled, Compiled];
    expect('if', c, (t) => t === 'bool' || t === 'null', 'a condition');
    return {
      type: unify([a.type, b.type], 'if()'),
      eval: (row) => (c.eval(row) === true ? a.eval(row) : b.eval(row)),
    };
  },
  lower: text1('lower', (s) => s.toLowerCase()),
  upper: text1('upper', (s) => s.toUpperCase()),
  trim: text1('trim', (s) => s.replace(/^ +| +$/g, '')),
  ltrim: text1('ltrim', (s) => s.replace(/^ +/, '')),
  rtrim: text1('rtrim', (s) => s.replace(/ +$/, '')),
  length: text1('length', (s) => [...s].length, 'int'),
  starts_with: text2('starts_with', (s, t) => s.startsWith(t)),
  ends_with: text2('ends_with', (s, t) => s.endsWith(t)),
  suffix: text2('suffix', (s, t) => s.endsWith(t)),
  contains: text2('contains', (s, t) => s.includes(t)),
  concat: (args) => {
    arity('concat', args, 1, Infinity);
    for (const a of args)
      expect(
        'concat',
        a,
        (t) => t === 'text' || t === 'int' || t === 'bool' || t === 'null',
        'text (cast other types to VARCHAR)',
      );
    const fs = args.map((a) => a.eval);
    return {
      type: 'text',
      eval: (row) => {
        let out = '';
        for (const f of fs) {
          const v = f(row);
          if (v !== null) out += String(v);
        }
        return out;
      },
    };
  },
  substr: (args) => substring('substr', args),
  substring: (args) => substring('substring', args),
};

function powFn(name: string, args: Compiled[]): Compiled {
  arity(name, args, 2);
  for (const a of args) expect(name, a, isNumeric, 'numbers');
  const [f, g] = args.map((a) => a.eval) as [Evaluate, Evaluate];
  return {
    type: 'double',
    eval: (row) => {
      const x = f(row);
      const y = g(row);
      return x === null || y === null ? null : Math.pow(x as number, y as number);
    },
  };
}

function numericTest(name: string, args: Compiled[], test: (x: number) => boolean): Compiled {
  arity(name, args, 1);
  const [a] = args as [Compiled];
  expect(name, a, isNumeric, 'a number');
  return map1('bool', a.eval, (v) => test(v as number));
}

function substring(name: string, args: Compiled[]): Compiled {
  arity(name, args, 2, 3);
  const [s, start, count] = args as [Compiled, Compiled, Compiled | undefined];
  expect(name, s, (t) => t === 'text' || t === 'null', 'text');
  expect(name, start, (t) => t === 'int' || t === 'null', 'an integer start');
  if (count) expect(name, count, (t) => t === 'int' || t === 'null', 'an integer length');
  return {
    type: 'text',
    eval: (row) => {
      const text = s.eval(row);
      const from = start.eval(row);
      const n = count ? count.eval(row) : Infinity;
      if (text === null || from === null || n === null) return null;
      const chars = [...(text as string)];
      // DuckDB: 1-based; a start of 0 or below still counts the characters before position 1.
      let first = (from as number) - 1;
      let last = first + (n as number);
      if ((from as number) < 0) {
        first = chars.length + (from as number);
        last = first + (n as number);
      }
      return chars.slice(Math.max(0, first), Math.max(0, last)).join('');
    },
  };
}
