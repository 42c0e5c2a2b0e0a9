import type { z } from 'zod';
import { lifecycleSchema, type LifecycleParamFields } from '../lifecycle-schema.js';
import { pipelineSchema, stepSchema } from '../spec.js';
import { builtinStepParams } from '../step-params.js';
import { rowsTable, schemaRows, type Row, type SeenShapes } from './render.js';

/** The command that writes `docs/pipelines.md`; the docs test prints it when the file is stale. */
export const regenerateCommand = 'npx tsx pipelines/docs/generate.ts > docs/pipelines.md';

export interface PipelineReference {
  markdown: string;
  /** Fields with no `.describe()` text, as `section: path`: each needs one. */
  undescribed: string[];
}

const paramFields: readonly LifecycleParamFields[] = [
  'card',
  'contract',
  'features',
  'label',
  'split',
  'train',
  'evaluate',
];

/**
 * `docs/pipelines.md`: every field of `mlLifecycle`, of `definePipeline` and its steps, and of each
 * built-in step's params, with type, default and meaning, from the same zod schemas that type pipeline
 * files and check them at run time, so the reference cannot drift from what Sluice accepts.
 */
export function pipelineReference(): PipelineReference {
  const seen: SeenShapes = new Map();
  const undescribed: string[] = [];
  const table = (section: string, schema: z.ZodType): string => {
    const rows = schemaRows(schema, section, seen);
    undescribed.push(...rows.filter((row) => !row.description).map((row) => `${section}: ${row.path}`));
    return rowsTable(rows);
  };
  // In reading order: a schema used twice is written out where it first appears.
  const lifecycle = table('mlLifecycle', lifecycleSchema);
  const pipeline = table('definePipeline', pipelineSchema.omit({ steps: true }));
  const step = table('step', stepSchema);
  const steps = Object.entries(builtinStepParams).map(([name, schema]) => {
    const what = (schema as z.ZodType).description;
    if (!what) undescribed.push(`built-in step ${name}`);
    const rows = schemaRows(schema, name, seen);
    undescribed.push(...rows.filter((row: Row) => !row.description).map((row) => `${name}: ${row.path}`));
    return [`### \`${name}\``, '', what ?? '', '', rows.length > 0 ? rowsTable(rows) : 'No params.'].join(
      '\n',
    );
  });
  const markdown = [
    '# Pipeline reference',
    '',
    `<!-- Generated from the zod schemas in pipelines/ by \`${regenerateCommand}\`. Do not edit by hand: test/unit/pipeline-docs.test.ts fails when this file and the schemas disagree. -->`,
    '',
    'Every field a pipeline file can set: its type, its default and what it means. A pipeline file is',
    'TypeScript, typed by the same schemas, so a misspelt field or a wrong value is a compile error',
    'naming the field (`npm run typecheck`, or your editor), and Sluice checks it again when the',
    'pipeline is defined and when each step runs.',
    '',
    '**Paths.** `a.b` is field `b` of the object in `a`; `a[]` an item of the list `a`; `<name>` any key',
    'you choose; `<x|y>` each of those keys; `a (kind: "hash").b` field `b` when `a.kind` is `"hash"`.',
    'A field marked (required) must be given; the others may be left out (the default applies).',
    '',
    '**Run parameters.** Inside step params, `{ $param: "name" }` may stand for any string, number or',
    'boolean: the value of `--param name=…` for this run (declared under `params`). In `mlLifecycle`',
    `that is the fields ${paramFields.map((field) => `\`${field}\``).join(', ')}, and \`source.format\` / \`source.sql\`.`,
    '',
    '## `mlLifecycle`',
    '',
    'The standard life of a model as one config object: ingest → statistics → validate → train →',
    'evaluate → model card → approve → register (→ deploy), with the gates in place.',
    '',
    lifecycle,
    '',
    '## `definePipeline`',
    '',
    'A hand-written DAG of steps. A step runs an activity (a built-in one below, or your own),',
    'an approval gate, or a deploy; a step naming a built-in activity has its params typed as below.',
    '',
    '### The pipeline',
    '',
    pipeline,
    '',
    '### A step (`steps[]`)',
    '',
    step,
    '',
    '## Built-in steps',
    '',
    'The activities Sluice registers, with their params (`params` of a step naming them).',
    '',
    steps.join('\n\n'),
    '',
  ].join('\n');
  return { markdown, undescribed };
}
