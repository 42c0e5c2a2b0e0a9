import { parseFeatureExpr, type BinaryOp, type Expr } from '../../pipelines/feature-expr.js';
import { sqlFunctions } from './sql-functions.js';
import {
  FeatureCompileError,
  unify,
  type Compiled,
  type Evaluate,
  formatDate,
  formatTimestamp,
  parseDate,
  parseDouble,
  parseTimestamp,
  roundHalfAway,
  roundHalfEven,
  SqlRuntimeError,
  type SqlType,
  type SqlValue,
} from './sql-values.js';

/**
 * A compiler from a feature's DuckDB SQL (the subset `pipelines/feature-expr.ts` parses) to a JS
 * function with DuckDB's semantics: NULL propagation, three-valued logic, `/` always DOUBLE, `//` and
 * `%` integer with NULL on zero, CAST rounding half away from zero, DuckDB's calendar functions in UTC.
 * Types are checked at compile time against the source's column types, so anything whose result
 * serving could not reproduce bit for bit (DECIMAL arithmetic, casting a DOUBLE to text…) is refused
 * when the model is trained, not discovered when it is served.
 */

/** Resolves a column name as written to its slot and type; DuckDB matches names case-insensitively. */
export type ColumnLookup = (name: string) => { slot: number; type: SqlType } | undefined;

const numeric = (t: SqlType) => t === 'int' || t === 'double' || t === 'decimal';

/** Compile an expression (text or parsed) over the columns `lookup` resolves. */
export function compileExpr(expr: Expr | string, lookup: ColumnLookup): Compiled {
  const tree = typeof expr === 'string' ? parseFeatureExpr(expr) : expr;
  return compile(tree, lookup);
}

function compile(e: Expr, lookup: ColumnLookup): Compiled {
  switch (e.kind) {
    case 'column': {
      const column = lookup(e.name);
      if (!column) throw new FeatureCompileError(`no column "${e.name}"`);
      const { slot } = column;
      return { type: column.type, eval: (row) => row[slot] ?? null };
    }
    case 'literal': {
      const value = e.value;
      return { type: e.type, eval: () => value, literal: true };
    }
    case 'unary':
      return unary(e.op, compile(e.arg, lookup));
    case 'binary':
      return binary(e.op, compile(e.left, lookup), compile(e.right, lookup));
    case 'is-null': {
      const arg = compile(e.arg, lookup).eval;
      const negated = e.negated;
      return { type: 'bool', eval: (row) => (arg(row) === null) !== negated };
    }
    case 'in': {
      const arg = compile(e.arg, lookup);
      const tests = e.list.map((item) => comparison('=', arg, compile(item, lookup)).eval);
      const negated = e.negated;
      return {
        type: 'bool',
        eval: (row) => {
          let sawNull = false;
          for (const test of tests) {
            const r = test(row);
            if (r === true) return !negated;
            if (r === null) sawNull = true;
          }
          return sawNull ? null : negated;
        },
      };
    }
    case 'between': {
      const arg = compile(e.arg, lookup);
      const both = binary(
        'and',
        comparison('>=', arg, compile(e.low, lookup)),
        comparison('<=', arg, compile(e.high, lookup)),
      );
      return e.negated ? unary('not', both) : both;
    }
    case 'case':
      return caseExpr(e, lookup);
    case 'cast': {
      const arg = compile(e.arg, lookup);
      return castTo(arg, e.type, e.try);
    }
    case 'call': {
      const fn = sqlFunctions[e.name];
      if (!fn) {
        throw new FeatureCompileError(
          `function ${e.name}() is not one serving can compute (supported: ${Object.keys(sqlFunctions).sort().join(', ')})`,
        );
      }
      return fn(e.args.map((a) => compile(a, lookup)));
    }
  }
}

function unary(op: '-' | '+' | 'not', arg: Compiled): Compiled {
  const f = arg.eval;
  if (op === 'not') {
    if (arg.type !== 'bool' && arg.type !== 'null')
      throw new FeatureCompileError(`NOT needs a boolean, not ${arg.type}`);
    return {
      type: 'bool',
      eval: (row) => {
        const v = f(row);
        return v === null ? null : !v;
      },
    };
  }
  if (!numeric(arg.type) && arg.type !== 'null')
    throw new FeatureCompileError(`unary ${op} needs a number, not ${arg.type}`);
  if (op === '+') return arg;
  const zero = arg.type === 'int' ? 0 : -0;
  return {
    type: arg.type,
    eval: (row) => {
      const v = f(row);
      return v === null ? null : zero - (v as number);
    },
  };
}

/** The type both sides of an arithmetic operator become, or a refusal. */
function arithmeticType(op: string, l: SqlType, r: SqlType): SqlType {
  if (!numeric(l) && l !== 'null') throw new FeatureCompileError(`${op} needs numbers, not ${l}`);
  if (!numeric(r) && r !== 'null') throw new FeatureCompileError(`${op} needs numbers, not ${r}`);
  if (l === 'double' || r === 'double') return 'double';
  if (l === 'decimal' || r === 'decimal') {
    throw new FeatureCompileError(
      `${op} with a decimal literal computes in DECIMAL, which serving does not reproduce: write the literal as a DOUBLE (e.g. 1.5::DOUBLE)`,
    );
  }
  return 'int';
}

function binary(op: BinaryOp, left: Compiled, right: Compiled): Compiled {
  const l = left.eval;
  const r = right.eval;
  switch (op) {
    case 'and':
    case 'or': {
      for (const side of [left, right]) {
        if (side.type !== 'bool' && side.type !== 'null') {
          throw new FeatureCompileError(`${op.toUpperCase()} needs booleans, not ${side.type}`);
        }
      }
      const and = op === 'and';
      return {
        type: 'bool',
        eval: (row) => {
          const a = l(row);
          if (a === !and) return !and;
          const b = r(row);
          if (b === !and) return !and;
          return a === null || b === null ? null : and;
        },
      };
    }
    case '=':
    case '<>':
    case '<':
    case '<=':
    case '>':
    case '>=':
      return comparison(op, left, right);
    case '||': {
      const text = (t: SqlType) => t === 'text' || t === 'null' || t === 'int' || t === 'bool';
      if (!text(left.type) || !text(right.type)) {
        throw new FeatureCompileError(
          `|| joins text, not ${left.type} and ${right.type}: cast to VARCHAR first`,
        );
      }
      return {
        type: 'text',
        eval: (row) => {
          const a = l(row);
          const b = r(row);
          return a === null || b === null ? null : String(a) + String(b);
        },
      };
    }
    case '-':
      if (left.type === 'date' && right.type === 'date') {
        return nullSafe('int', l, r, (a, b) => a - b);
      }
      if (left.type === 'date' && right.type === 'int') return nullSafe('date', l, r, (a, b) => a - b);
      break;
    case '+':
      if (left.type === 'date' && right.type === 'int') return nullSafe('date', l, r, (a, b) => a + b);
      if (left.type === 'int' && right.type === 'date') return nullSafe('date', l, r, (a, b) => a + b);
      break;
    case '*':
    case '/':
    case '//':
    case '%':
    case '^':
      break;
  }
  if (op === '/') {
    arithmeticType(
      op,
      left.type === 'decimal' ? 'double' : left.type,
      right.type === 'decimal' ? 'double' : right.type,
    );
    return nullSafe('double', l, r, (a, b) => a / b);
  }
  if (op === '^') {
    arithmeticType(
      op,
      left.type === 'decimal' ? 'double' : left.type,
      right.type === 'decimal' ? 'double' : right.type,
    );
    return nullSafe('double', l, r, (a, b) => Math.pow(a, b));
  }
  const type = arithmeticType(op, left.type, right.type);
  switch (op) {
    case '+':
      return nullSafe(type, l, r, (a, b) => a + b);
    case '-':
      return nullSafe(type, l, r, (a, b) => a - b);
    case '*':
      return nullSafe(type, l, r, (a, b) => a * b);
    case '//':
      // DuckDB: integer division truncates and is NULL by zero; on doubles it is plain division.
      if (type === 'double') return nullSafe(type, l, r, (a, b) => a / b);
      return nullable(type, l, r, (a, b) => (b === 0 ? null : Math.trunc(a / b)));
    case '%':
      return nullable(type, l, r, (a, b) => (b === 0 ? null : a % b));
    default:
      throw new FeatureCompileError('this operator is not supported');
  }
}

function nullSafe(type: SqlType, l: Evaluate, r: Evaluate, f: (a: number, b: number) => number): Compiled {
  return nullable(type, l, r, f);
}

/** NULL if either side is; integers have no negative zero (`-7 * 0` is 0 in DuckDB, -0 in JS). */
function nullable(
  type: SqlType,
  l: Evaluate,
  r: Evaluate,
  f: (a: number, b: number) => number | null,
): Compiled {
  const integral = type === 'int' || type === 'date';
  return {
    type,
    eval: (row) => {
      const a = l(row);
      if (a === null) return null;
      const b = r(row);
      if (b === null) return null;
      const v = f(a as number, b as number);
      return integral && v !== null ? v + 0 : v;
    },
  };
}

/** Bring a text literal compared with a date, timestamp or number to that type, as DuckDB does. */
function coerceLiteral(side: Compiled, other: SqlType): Compiled {
  if (side.type !== 'text' || !side.literal) return side;
  if (other !== 'date' && other !== 'timestamp' && !numeric(other) && other !== 'bool') return side;
  return castTo(
    side,
    other === 'date' ? 'DATE' : other === 'timestamp' ? 'TIMESTAMP' : other === 'bool' ? 'BOOLEAN' : 'DOUBLE',
    false,
  );
}

export function comparison(
  op: '=' | '<>' | '<' | '<=' | '>' | '>=',
  left0: Compiled,
  right0: Compiled,
): Compiled {
  const left = coerceLiteral(left0, right0.type);
  const right = coerceLiteral(right0, left.type);
  const lt = left.type === 'decimal' ? 'double' : left.type;
  const rt = right.type === 'decimal' ? 'double' : right.type;
  const comparable =
    lt === 'null' ||
    rt === 'null' ||
    (numeric(lt) && numeric(rt)) ||
    lt === rt ||
    (lt === 'date' && rt === 'timestamp') ||
    (lt === 'timestamp' && rt === 'date');
  if (!comparable)
    throw new FeatureCompileError(`cannot compare ${left.type} with ${right.type}: cast one side`);
  const toMicros = (t: SqlType, f: Evaluate): Evaluate =>
    t === 'date' && (lt === 'timestamp' || rt === 'timestamp')
      ? (row) => {
          const v = f(row);
          return v === null ? null : (v as number) * 86_400_000_000;
        }
      : f;
  const l = toMicros(lt, left.eval);
  const r = toMicros(rt, right.eval);
  const test = comparators[op];
  return {
    type: 'bool',
    eval: (row) => {
      const a = l(row);
      if (a === null) return null;
      const b = r(row);
      return b === null ? null : test(a, b);
    },
  };
}

type Plain = string | number | boolean;
const comparators: Record<'=' | '<>' | '<' | '<=' | '>' | '>=', (a: Plain, b: Plain) => boolean> = {
  '=': (a, b) => a === b,
  '<>': (a, b) => a !== b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

function caseExpr(e: Extract<Expr, { kind: 'case' }>, lookup: ColumnLookup): Compiled {
  const subject = e.subject ? compile(e.subject, lookup) : null;
  const whens = e.whens.map((w) => {
    const when = compile(w.when, lookup);
    const test = subject ? comparison('=', subject, when) : when;
    if (test.type !== 'bool' && test.type !== 'null')
      throw new FeatureCompileError(`CASE WHEN needs a condition, not ${test.type}`);
    return { test: test.eval, then: compile(w.then, lookup) };
  });
  const otherwise = e.otherwise ? compile(e.otherwise, lookup) : null;
  const type = unify([...whens.map((w) => w.then.type), otherwise?.type ?? 'null'], 'CASE');
  // An int branch of a DOUBLE CASE is already the right number: no conversion is needed.
  const branches = whens.map((w) => ({ test: w.test, then: w.then.eval }));
  const fallback = otherwise ? otherwise.eval : () => null;
  return {
    type,
    eval: (row) => {
      for (const b of branches) if (b.test(row) === true) return b.then(row);
      return fallback(row);
    },
  };
}

/** CAST / TRY_CAST to a DuckDB type name (already upper-cased by the parser). */
export function castTo(arg: Compiled, target: string, isTry: boolean): Compiled {
  const f = arg.eval;
  const from = arg.type;
  const fail = (value: SqlValue): null => {
    if (isTry) return null;
    throw new SqlRuntimeError(`could not convert ${JSON.stringify(value)} to ${target}`);
  };
  const wrap = (type: SqlType, g: (v: Exclude<SqlValue, null>) => SqlValue): Compiled => ({
    type,
    eval: (row) => {
      const v = f(row);
      return v === null ? null : g(v);
    },
  });
  switch (target) {
    case 'DOUBLE':
    case 'FLOAT': {
      const round = target === 'FLOAT' ? Math.fround : (x: number) => x;
      if (numeric(from) || from === 'null') return wrap('double', (v) => round(v as number));
      if (from === 'bool') return wrap('double', (v) => (v ? 1 : 0));
      if (from === 'text')
        return wrap('double', (v) => {
          const x = parseDouble(v as string);
          return x === null ? fail(v) : round(x);
        });
      break;
    }
    case 'TINYINT':
    case 'SMALLINT':
    case 'INTEGER':
    case 'BIGINT':
    case 'HUGEINT':
    case 'UTINYINT':
    case 'USMALLINT':
    case 'UINTEGER':
    case 'UBIGINT': {
      const range = intRanges[target] ?? [-(2 ** 63), 2 ** 63];
      const check = (x: number, v: SqlValue) =>
        Number.isFinite(x) && x >= range[0] && x <= range[1] ? x : fail(v);
      if (from === 'int' || from === 'null') return wrap('int', (v) => check(v as number, v));
      if (from === 'double') return wrap('int', (v) => check(roundHalfEven(v as number), v));
      if (from === 'decimal') return wrap('int', (v) => check(roundHalfAway(v as number), v));
      if (from === 'bool') return wrap('int', (v) => (v ? 1 : 0));
      if (from === 'text')
        return wrap('int', (v) => {
          const x = parseDouble(v as string);
          return x === null || Number.isNaN(x) ? fail(v) : check(roundHalfAway(x), v);
        });
      break;
    }
    case 'VARCHAR':
      if (from === 'text' || from === 'null') return { type: 'text', eval: f };
      if (from === 'int') return wrap('text', (v) => String(v));
      if (from === 'bool') return wrap('text', (v) => (v ? 'true' : 'false'));
      if (from === 'date') return wrap('text', (v) => formatDate(v as number));
      if (from === 'timestamp') return wrap('text', (v) => formatTimestamp(v as number));
      throw new FeatureCompileError(
        `casting a ${from} to VARCHAR is not reproduced by serving (DuckDB's number formatting): round or cast to BIGINT first`,
      );
    case 'BOOLEAN':
      if (from === 'bool' || from === 'null') return { type: 'bool', eval: f };
      if (from === 'int') return wrap('bool', (v) => v !== 0);
      if (from === 'text')
        return wrap('bool', (v) => {
          const t = (v as string).trim().toLowerCase();
          if (['true', 't', '1', 'yes', 'y'].includes(t)) return true;
          if (['false', 'f', '0', 'no', 'n'].includes(t)) return false;
          return fail(v);
        });
      break;
    case 'DATE':
      if (from === 'date' || from === 'null') return { type: 'date', eval: f };
      if (from === 'timestamp') return wrap('date', (v) => Math.floor((v as number) / 86_400_000_000));
      if (from === 'text') return wrap('date', (v) => parseDate(v as string) ?? fail(v));
      break;
    case 'TIMESTAMP':
      if (from === 'timestamp' || from === 'null') return { type: 'timestamp', eval: f };
      if (from === 'date') return wrap('timestamp', (v) => (v as number) * 86_400_000_000);
      if (from === 'text') return wrap('timestamp', (v) => parseTimestamp(v as string) ?? fail(v));
      break;
    default:
      throw new FeatureCompileError(
        `casts to ${target} are not supported (use DOUBLE, BIGINT, INTEGER, VARCHAR, BOOLEAN, DATE or TIMESTAMP)`,
      );
  }
  throw new FeatureCompileError(`cannot cast ${from} to ${target}`);
}

const intRanges: Record<string, [number, number]> = {
  TINYINT: [-128, 127],
  SMALLINT: [-32768, 32767],
  INTEGER: [-2147483648, 2147483647],
  UTINYINT: [0, 255],
  USMALLINT: [0, 65535],
  UINTEGER: [0, 4294967295],
  UBIGINT: [0, 2 ** 64],
};
