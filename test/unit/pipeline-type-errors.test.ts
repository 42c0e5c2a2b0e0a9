import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * Pipeline files that must NOT compile (test/types/bad/, left out of `npm run typecheck`): each line
 * marked `// error at \`field\`: text` must get a TypeScript error that starts at that field and says
 * that text (` … ` separates parts that must all appear), and no other line may get one. This is what a data engineer sees in their editor and in
 * `npm run typecheck` when a pipeline file is wrong.
 */
const root = join(import.meta.dirname, '..', '..');
const badDir = join(root, 'test', 'types', 'bad');
const fixtures = readdirSync(badDir)
  .filter((name) => name.endsWith('.pipeline.ts'))
  .sort();
const marker = /\/\/ error at `([^`]+)`: (.+)$/;

interface Found {
  line: number;
  at: string;
  message: string;
}

function compile(): Map<string, Found[]> {
  const configPath = join(root, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const files = fixtures.map((name) => join(badDir, name));
  const program = ts.createProgram(files, { ...parsed.options, noEmit: true });
  const found = new Map<string, Found[]>();
  for (const file of files) {
    const source = program.getSourceFile(file);
    if (!source) throw new Error(`${file} was not compiled`);
    const diagnostics = [
      ...program.getSyntacticDiagnostics(source),
      ...program.getSemanticDiagnostics(source),
    ];
    found.set(
      file,
      diagnostics.map((diagnostic) => {
        const start = diagnostic.start ?? 0;
        return {
          line: source.getLineAndCharacterOfPosition(start).line + 1,
          at: source.text.slice(start, start + (diagnostic.length ?? 0)),
          message: ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'),
        };
      }),
    );
  }
  return found;
}

describe('pipeline files with mistakes do not compile, and the error names the field', () => {
  const diagnostics = compile();

  it.each(fixtures)('%s', (name) => {
    const file = join(badDir, name);
    const lines = readFileSync(file, 'utf8').split('\n');
    const expected = lines.flatMap((text, index) => {
      const match = marker.exec(text);
      return match ? [{ line: index + 1, at: match[1] ?? '', message: match[2] ?? '' }] : [];
    });
    expect(expected.length).toBeGreaterThan(0);
    const found = diagnostics.get(file) ?? [];
    for (const want of expected) {
      const onLine = found.filter((d) => d.line === want.line);
      expect(onLine, `${name}:${want.line} should fail to compile`).not.toEqual([]);
      expect(
        onLine.some(
          (d) =>
            d.at.startsWith(want.at) && want.message.split(' … ').every((part) => d.message.includes(part)),
        ),
        `${name}:${want.line}: expected an error at "${want.at}" saying "${want.message}", got:\n` +
          onLine.map((d) => `  at "${d.at.slice(0, 40)}": ${d.message}`).join('\n'),
      ).toBe(true);
    }
    const unexpected = found.filter((d) => !expected.some((want) => want.line === d.line));
    expect(unexpected.map((d) => `${name}:${d.line}: ${d.message}`)).toEqual([]);
  });
});
