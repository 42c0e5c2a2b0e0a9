/**
 * A parser for the DuckDB expression subset a feature's `sql` may use when the model is to be served:
 * column references (bare or "quoted"), number/string/boolean/NULL literals, arithmetic, comparisons,
 * AND/OR/NOT, IS [NOT] NULL, [NOT] IN (…), [NOT] BETWEEN, CASE, CAST / TRY_CAST / `::`, EXTRACT and
 * function calls. Operator precedence follows DuckDB's (PostgreSQL's) table. Pure and sandbox-safe:
 * the definition lint, the transform fit and serving all parse with it. Anything else (subqueries, `*`,
 * qualified names, LIKE, window functions…) is a {@link FeatureExprError} naming the position.
 */

export type LiteralType = 'int' | 'decimal' | 'double' | 'text' | 'bool' | 'null';

export type Expr =
  | { kind: 'column'; name: string }
  | { kind: 'literal'; type: LiteralType; value: number | string | boolean | null; text: string }
  | { kind: 'unary'; op: '-' | '+' | 'not'; arg: Expr }
  | { kind: 'binary'; op: BinaryOp; left: Expr; right: Expr }
  | { kind: 'is-null'; arg: Expr; negated: boolean }
  | { kind: 'in'; arg: Expr; list: Expr[]; negated: boolean }
  | { kind: 'between'; arg: Expr; low: Expr; high: Expr; negated: boolean }
  | { kind: 'case'; subject: Expr | null; whens: { when: Expr; then: Expr }[]; otherwise: Expr | null }
  | { kind: 'cast'; arg: Expr; type: string; try: boolean }
  | { kind: 'call'; name: string; args: Expr[] };

export type BinaryOp =
  '+' | '-' | '*' | '/' | '//' | '%' | '^' | '||' | '=' | '<>' | '<' | '<=' | '>' | '>=' | 'and' | 'or';

/** An expression outside the subset, or malformed; `position` is a 0-based offset into the text. */
export class FeatureExprError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
    this.name = 'FeatureExprError';
  }
}

interface Token {
  kind: 'num' | 'str' | 'ident' | 'qident' | 'op' | 'end';
  text: string;
  pos: number;
}

const operators = [
  '::',
  '||',
  '//',
  '<=',
  '>=',
  '<>',
  '!=',
  '==',
  '**',
  '+',
  '-',
  '*',
  '/',
  '%',
  '^',
  '<',
  '>',
  '=',
  '(',
  ')',
  ',',
];

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] ?? '';
    if (/\s/.test(c)) {
      i++;
    } else if (sql.startsWith('--', i)) {
      while (i < sql.length && sql[i] !== '\n') i++;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      const m = /^(\d*\.?\d*)([eE][+-]?\d+)?/.exec(sql.slice(i));
      const text = m?.[0] ?? c;
      tokens.push({ kind: 'num', text, pos: i });
      i += text.length;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      let text = '';
      for (;;) {
        if (j >= sql.length)
          throw new FeatureExprError(`unterminated ${c === "'" ? 'string' : 'quoted name'}`, i);
        if (sql[j] === c && sql[j + 1] === c) {
          text += c;
          j += 2;
        } else if (sql[j] === c) {
          break;
        } else {
          text += sql[j];
          j++;
        }
      }
      tokens.push({ kind: c === "'" ? 'str' : 'qident', text, pos: i });
      i = j + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      const text = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i))?.[0] ?? c;
      tokens.push({ kind: 'ident', text, pos: i });
      i += text.length;
    } else {
      const op = operators.find((o) => sql.startsWith(o, i));
      if (!op) throw new FeatureExprError(`"${c}" is not part of the supported expression syntax`, i);
      tokens.push({ kind: 'op', text: op, pos: i });
      i += op.length;
    }
  }
  tokens.push({ kind: 'end', text: '', pos: sql.length });
  return tokens;
}

const reserved = new Set([
  'and',
  'or',
  'not',
  'is',
  'in',
  'between',
  'case',
  'when',
  'then',
  'else',
  'end',
  'as',
  'from',
  'select',
]);

/** Parse one feature expression; throws {@link FeatureExprError} outside the subset. */
export function parseFeatureExpr(sql: string): Expr {
  const tokens = tokenize(sql);
  let at = 0;
  const peek = () => tokens[at] as Token;
  const word = (t: Token) => (t.kind === 'ident' ? t.text.toLowerCase() : '');
  const isWord = (w: string, offset = 0) => {
    const t = tokens[at + offset];
    return t !== undefined && word(t) === w;
  };
  const isOp = (o: string) => peek().kind === 'op' && peek().text === o;
  const fail = (what: string, t = peek()): never => {
    throw new FeatureExprError(
      `${what} at position ${t.pos + 1}${t.kind === 'end' ? ' (end of the expression)' : ` ("${t.text}")`}`,
      t.pos,
    );
  };
  const expectWord = (w: string) => (isWord(w) ? at++ : fail(`expected ${w.toUpperCase()}`));
  const expectOp = (o: string) => (isOp(o) ? at++ : fail(`expected "${o}"`));

  const or = (): Expr => {
    let left = and();
    while (isWord('or')) {
      at++;
      left = { kind: 'binary', op: 'or', left, right: and() };
    }
    return left;
  };
  const and = (): Expr => {
    let left = not();
    while (isWord('and')) {
      at++;
      left = { kind: 'binary', op: 'and', left, right: not() };
    }
    return left;
  };
  const not = (): Expr => {
    if (isWord('not')) {
      at++;
      return { kind: 'unary', op: 'not', arg: not() };
    }
    return is();
  };
  const is = (): Expr => {
    let arg = comparison();
    while (isWord('is')) {
      at++;
      const negated = isWord('not') ? (at++, true) : false;
      expectWord('null');
      arg = { kind: 'is-null', arg, negated };
    }
    return arg;
  };
  const comparisonOps: Record<string, BinaryOp> = {
    '=': '=',
    '==': '=',
    '<>': '<>',
    '!=': '<>',
    '<': '<',
    '<=': '<=',
    '>': '>',
    '>=': '>=',
  };
  const comparison = (): Expr => {
    let left = range();
    for (;;) {
      const op = peek().kind === 'op' ? comparisonOps[peek().text] : undefined;
      if (!op) return left;
      at++;
      left = { kind: 'binary', op, left, right: range() };
    }
  };
  const range = (): Expr => {
    const arg = concat();
    const negated = isWord('not') && (isWord('in', 1) || isWord('between', 1));
    if (negated) at++;
    if (isWord('in')) {
      at++;
      expectOp('(');
      if (isWord('select')) fail('subqueries are not supported');
      const list = [or()];
      while (isOp(',')) {
        at++;
        list.push(or());
      }
      expectOp(')');
      return { kind: 'in', arg, list, negated };
    }
    if (isWord('between')) {
      at++;
      const low = concat();
      expectWord('and');
      return { kind: 'between', arg, low, high: concat(), negated };
    }
    if (isWord('like') || isWord('ilike') || isWord('similar') || isWord('glob')) {
      fail('LIKE, ILIKE, SIMILAR TO and GLOB are not supported (use starts_with, ends_with or contains)');
    }
    return arg;
  };
  const binaryLevel = (ops: string[], next: () => Expr) => (): Expr => {
    let left = next();
    while (peek().kind === 'op' && ops.includes(peek().text)) {
      const text = (tokens[at++] as Token).text;
      const op = (text === '**' ? '^' : text) as BinaryOp;
      left = { kind: 'binary', op, left, right: next() };
    }
    return left;
  };
  const unary = (): Expr => {
    if (isOp('-') || isOp('+')) {
      const op = (tokens[at++] as Token).text as '-' | '+';
      const arg = unary();
      if (op === '-' && arg.kind === 'literal' && typeof arg.value === 'number') {
        return { ...arg, value: -arg.value, text: `-${arg.text}` };
      }
      return { kind: 'unary', op, arg };
    }
    return postfix();
  };
  const power = binaryLevel(['^', '**'], unary);
  const product = binaryLevel(['*', '/', '//', '%'], power);
  const sum = binaryLevel(['+', '-'], product);
  const concat = binaryLevel(['||'], sum);

  const typeName = (): string => {
    const t = peek();
    if (t.kind !== 'ident') return fail('expected a type name');
    at++;
    let name = t.text.toUpperCase();
    if (name === 'DOUBLE' && isWord('precision')) {
      at++;
    }
    if (isOp('(')) fail(`type parameters (${name}(…)) are not supported; cast to DOUBLE, BIGINT or VARCHAR`);
    if (name === 'TIMESTAMP' && isWord('with')) fail('TIMESTAMP WITH TIME ZONE is not supported');
    name = typeAliases[name] ?? name;
    return name;
  };
  const postfix = (): Expr => {
    let arg = primary();
    while (isOp('::')) {
      at++;
      arg = { kind: 'cast', arg, type: typeName(), try: false };
    }
    return arg;
  };
  const primary = (): Expr => {
    const t = peek();
    if (t.kind === 'num') {
      at++;
      const integer = /^\d+$/.test(t.text);
      const type: LiteralType = integer ? 'int' : /[eE]/.test(t.text) ? 'double' : 'decimal';
      return { kind: 'literal', type, value: Number(t.text), text: t.text };
    }
    if (t.kind === 'str') {
      at++;
      return { kind: 'literal', type: 'text', value: t.text, text: t.text };
    }
    if (t.kind === 'qident') {
      at++;
      if (isOp('(')) fail('quoted function names are not supported');
      return column(t.text);
    }
    if (isOp('(')) {
      at++;
      if (isWord('select')) fail('subqueries are not supported');
      const inner = or();
      expectOp(')');
      return inner;
    }
    if (t.kind !== 'ident')
      return fail(t.kind === 'end' ? 'the expression ends too early' : 'unexpected token');
    const w = word(t);
    if (w === 'null' || w === 'true' || w === 'false') {
      at++;
      return w === 'null'
        ? { kind: 'literal', type: 'null', value: null, text: 'NULL' }
        : { kind: 'literal', type: 'bool', value: w === 'true', text: w.toUpperCase() };
    }
    if (w === 'case') return caseExpr();
    if ((w === 'date' || w === 'timestamp') && tokens[at + 1]?.kind === 'str') {
      const text = (tokens[at + 1] as Token).text;
      at += 2;
      const arg: Expr = { kind: 'literal', type: 'text', value: text, text };
      return { kind: 'cast', arg, type: w.toUpperCase(), try: false };
    }
    if ((w === 'cast' || w === 'try_cast') && tokens[at + 1]?.text === '(') {
      at += 2;
      const arg = or();
      expectWord('as');
      const type = typeName();
      expectOp(')');
      return { kind: 'cast', arg, type, try: w === 'try_cast' };
    }
    if (w === 'extract' && tokens[at + 1]?.text === '(') {
      at += 2;
      const part = peek();
      if (part.kind !== 'ident' && part.kind !== 'str') fail('expected a date part such as hour');
      at++;
      expectWord('from');
      const arg = or();
      expectOp(')');
      const text: Expr = { kind: 'literal', type: 'text', value: part.text.toLowerCase(), text: part.text };
      return { kind: 'call', name: 'date_part', args: [text, arg] };
    }
    if (reserved.has(w)) return fail(`unexpected ${w.toUpperCase()}`);
    at++;
    if (isOp('(')) {
      at++;
      const args: Expr[] = [];
      if (isOp('*') || isWord('distinct')) fail('aggregates are not supported in a feature');
      if (!isOp(')')) {
        args.push(or());
        while (isOp(',')) {
          at++;
          args.push(or());
        }
      }
      expectOp(')');
      if (isWord('over') || isWord('filter')) fail('window functions and FILTER are not supported');
      return { kind: 'call', name: w, args };
    }
    return column(t.text);
  };
  const column = (name: string): Expr => ({ kind: 'column', name });
  const caseExpr = (): Expr => {
    at++;
    const subject = isWord('when') ? null : or();
    const whens: { when: Expr; then: Expr }[] = [];
    while (isWord('when')) {
      at++;
      const when = or();
      expectWord('then');
      whens.push({ when, then: or() });
    }
    if (whens.length === 0) fail('CASE needs at least one WHEN');
    let otherwise: Expr | null = null;
    if (isWord('else')) {
      at++;
      otherwise = or();
    }
    expectWord('end');
    return { kind: 'case', subject, whens, otherwise };
  };

  if (isWord('select')) fail('write the expression itself, not a SELECT');
  const expr = or();
  if (peek().kind !== 'end') fail('unexpected text after the expression');
  return expr;
}

const typeAliases: Record<string, string> = {
  FLOAT8: 'DOUBLE',
  REAL: 'FLOAT',
  FLOAT4: 'FLOAT',
  INT: 'INTEGER',
  INT4: 'INTEGER',
  SIGNED: 'INTEGER',
  INT8: 'BIGINT',
  LONG: 'BIGINT',
  INT2: 'SMALLINT',
  SHORT: 'SMALLINT',
  INT1: 'TINYINT',
  STRING: 'VARCHAR',
  TEXT: 'VARCHAR',
  CHAR: 'VARCHAR',
  BPCHAR: 'VARCHAR',
  BOOL: 'BOOLEAN',
  LOGICAL: 'BOOLEAN',
  DATETIME: 'TIMESTAMP',
};

/** The column names an expression reads, as written, in first-use order. */
export function columnRefs(expr: Expr): string[] {
  const names: string[] = [];
  const visit = (e: Expr): void => {
    switch (e.kind) {
      case 'column':
        if (!names.includes(e.name)) names.push(e.name);
        return;
      case 'literal':
        return;
      case 'unary':
      case 'is-null':
      case 'cast':
        return visit(e.arg);
      case 'binary':
        visit(e.left);
        return visit(e.right);
      case 'in':
        visit(e.arg);
        return e.list.forEach(visit);
      case 'between':
        visit(e.arg);
        visit(e.low);
        return visit(e.high);
      case 'case':
        if (e.subject) visit(e.subject);
        for (const w of e.whens) {
          visit(w.when);
          visit(w.then);
        }
        if (e.otherwise) visit(e.otherwise);
        return;
      case 'call':
        return e.args.forEach(visit);
    }
  };
  visit(expr);
  return names;
}
