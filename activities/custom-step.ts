import { Context } from '@temporalio/activity';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ColumnSchema } from '../pipelines/artifact.js';
import type { StepDatabase, StepContext, StepDefinition } from '../pipelines/custom-step.js';
import { maxStepOutputBytes } from '../pipelines/custom-step.js';
import { InvalidInputError } from '../pipelines/errors.js';
import type { JsonValue } from '../pipelines/json.js';
import type { LoadedStep } from '../pipelines/step-modules.js';
import type { StepActivity, StepInput } from '../pipelines/step.js';
import { createArtifactStore } from '../lib/artifacts/index.js';
import { sqlString, withDuckDB } from '../lib/duckdb.js';
import { heartbeat, stepActivity } from './boundary.js';
import { resolveDataset } from './data-inputs.js';
import { datasetReader } from './dataset-reader.js';

export interface CustomStepDeps {
  home: string;
  dataRoots: readonly string[];
}

/**
 * A user's step (`defineStep`) as a Sluice step activity: the same boundary as the built-ins (kept
 * alive by heartbeats, SluiceErrors non-retryable, anything else retried), params checked by its
 * schema, and an output that must be small JSON.
 */
export function customStepActivity(
  loaded: LoadedStep & { definition: StepDefinition },
  deps: CustomStepDeps,
): StepActivity {
  const { definition, module } = loaded;
  return stepActivity(async (input: StepInput) => {
    const parsed = definition.params.safeParse(input.params);
    if (!parsed.success) {
      const [issue] = parsed.error.issues;
      const at = issue?.path.length ? `params.${issue.path.join('.')}` : 'params';
      throw new InvalidInputError(
        `step "${input.step}" (${definition.name} from ${module}): ${at}: ${issue?.message ?? 'invalid'}; fix the pipeline file${input.run.file ? ` ${input.run.file}` : ''}`,
        { details: { step: input.step, activity: definition.name, issues: parsed.error.issues } },
      );
    }
    const output = await definition.run(stepContext(input, parsed.data, deps));
    const bytes = Buffer.byteLength(JSON.stringify(output ?? null));
    if (bytes > maxStepOutputBytes) {
      throw new InvalidInputError(
        `step "${input.step}" (${definition.name} from ${module}) returned ${Math.ceil(bytes / 1024)} KiB of JSON, over the ${maxStepOutputBytes / 1024} KiB limit: write rows with ctx.artifacts.putQuery/put and return the ArtifactRef`,
        { details: { step: input.step, activity: definition.name, bytes } },
      );
    }
    return output;
  });
}

function stepContext(input: StepInput, params: unknown, deps: CustomStepDeps): StepContext<unknown> {
  const context = Context.current();
  const store = createArtifactStore(deps.home);
  const producer = { workflowId: input.run.workflowId, runId: input.run.runId, step: input.step };
  return {
    params,
    inputs: input.inputs,
    runParams: input.runParams,
    run: { ...input.run, step: input.step, attempt: context.info.attempt },
    artifacts: {
      put: (path, meta) => store.putFile(path, { ...meta, producer }),
      putJson: (value, meta) => store.putJson(value, { ...meta, producer }),
      open: (ref) => store.open(ref),
      putQuery: (db, sql, meta) =>
        store.withStagingFile('parquet', async (path) => {
          await db.run(`COPY (${sql}) TO ${sqlString(path)} (FORMAT parquet)`);
          const described = await db.all(`DESCRIBE SELECT * FROM read_parquet(${sqlString(path)})`);
          const schema: ColumnSchema[] = described.map((row) => ({
            name: text(row['column_name']),
            type: text(row['column_type']),
          }));
          const [counted] = await db.all(
            `SELECT count(*)::DOUBLE AS n FROM read_parquet(${sqlString(path)})`,
          );
          return store.putFile(path, {
            kind: meta?.kind ?? 'dataset',
            format: 'parquet',
            rows: Number(counted?.['n'] ?? 0),
            schema: meta?.schema ?? schema,
            producer,
          });
        }),
    },
    async withDuckDB(views, fn) {
      const files: [string, string][] = [];
      for (const [name, value] of Object.entries(views)) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
          throw new InvalidInputError(
            `step "${input.step}": view name "${name}" must be letters, digits and _ (a SQL identifier)`,
          );
        }
        const dataset = await resolveDataset(value, {
          store,
          dataRoots: deps.dataRoots,
          what: `step "${input.step}" view "${name}"`,
        });
        files.push([name, dataset.path]);
      }
      return withDuckDB(async (connection) => {
        for (const [name, path] of files) {
          await connection.run(`CREATE VIEW ${name} AS SELECT * FROM ${datasetReader(path)}`);
        }
        return fn(stepDatabase(connection));
      });
    },
    heartbeat: (details) => heartbeat(details),
    checkpoint: context.info.heartbeatDetails as JsonValue | undefined,
    log: context.log,
    signal: context.cancellationSignal,
  };
}

function stepDatabase(connection: DuckDBConnection): StepDatabase {
  return {
    run: (sql) => connection.run(sql),
    async all(sql) {
      const reader = await connection.runAndReadAll(sql);
      return reader.getRowObjectsJson();
    },
  };
}

function text(value: JsonValue | undefined): string {
  return typeof value === 'string' ? value : JSON.stringify(value ?? null);
}
