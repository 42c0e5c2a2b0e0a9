// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import prettier from 'eslint-config-prettier';
import { builtinModules } from 'node:module';

/**
 * Workflow code runs in Temporal's deterministic sandbox: no I/O, no clocks, no native modules.
 * These imports would either fail at bundle time or, worse, break replay silently.
 */
const workflowBannedImports = {
  paths: builtinModules.map((name) => ({
    name,
    message: 'Workflow code must be deterministic: move I/O into an activity.',
  })),
  patterns: [
    { group: ['node:*'], message: 'Workflow code must be deterministic: move I/O into an activity.' },
    { group: ['pino', 'pino/*'], message: 'Workflows log through `log` from @temporalio/workflow.' },
    { group: ['@duckdb/*', 'duckdb'], message: 'DuckDB runs in activities, never in workflows.' },
    { group: ['@tensorflow/*'], message: 'Training runs in activities, never in workflows.' },
    {
      group: ['@temporalio/client', '@temporalio/worker', '@temporalio/activity', '@temporalio/testing'],
      message: 'Workflows may import only @temporalio/workflow.',
    },
    {
      group: [
        '../activities/*',
        '../worker/*',
        '../cli/*',
        '../serving/*',
        '../infra/*',
        '../client/*',
        '../lib/*',
        '../audit/*',
      ],
      allowTypeImports: true,
      message: 'Workflows may only `import type` from activities; other layers are off limits.',
    },
  ],
};

/**
 * The layers (docs/architecture.md), enforced on value AND type imports (import-x/no-cycle ignores
 * type imports): nothing imports the CLI; activities import neither serving nor the worker; the shared
 * library and the client import no layer above them.
 */
const layerZones = [
  {
    target: [
      './activities',
      './audit',
      './bench',
      './client',
      './index.ts',
      './infra',
      './lib',
      './pipelines',
      './serving',
      './worker',
      './workflows',
    ],
    from: './cli',
    message: 'Nothing imports cli/: move what you need into client/ or lib/.',
  },
  {
    target: './activities',
    from: ['./serving', './worker'],
    message: 'Activities import neither serving/ nor worker/: share code through lib/.',
  },
  {
    target: './lib',
    from: ['./activities', './audit', './client', './serving', './worker', './workflows'],
    message: 'lib/ is the shared library: it imports only pipelines/ and packages.',
  },
  {
    target: './client',
    from: ['./activities', './audit', './serving', './worker'],
    message: 'client/ talks to Temporal only: it imports pipelines/, lib/ and workflow types.',
  },
];

export default tseslint.config(
  // test/types/bad: pipeline files that must not compile, checked by test/unit/pipeline-type-errors.test.ts.
  { ignores: ['node_modules/', 'dist/', '.sluice/', 'bench/results/', 'test/histories/', 'test/types/bad/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: [
            '*.js',
            'cli/bin.js',
            'cli/source-stamp.js',
            'test/support/module-trace.js',
            'test/support/module-trace-hooks.js',
          ],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' })] },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
      'import-x/no-restricted-paths': ['error', { zones: layerZones }],
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports only (STYLE.md).' },
      ],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', workflowBannedImports] },
  },
  {
    files: ['eslint.config.js', 'vitest.config.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  prettier,
);
