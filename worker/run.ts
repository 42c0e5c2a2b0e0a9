import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { createMonitorActivities } from '../activities/monitor.js';
import { createNotifyActivities } from '../activities/notify.js';
import { createDeployActivities } from '../activities/deploy/index.js';
import { createStepCacheActivities } from '../activities/step-cache.js';
import { customStepActivity } from '../activities/custom-step.js';
import { customTrainerActivity } from '../activities/train/custom-trainer.js';
import { DependencyUnavailableError, PipelineDefinitionError } from '../pipelines/errors.js';
import type { LoadedStep, LoadedSteps } from '../pipelines/step-modules.js';
import type { SluiceConfig } from '../lib/config.js';
import { payloadConverter } from '../client/codec.js';
import { installRuntime, type Log } from './logging.js';
import { loadPrebuiltBundle } from './prebuilt-bundle.js';

export interface StartWorkerOptions {
  /** Reuse a connection (the dev server's); otherwise one is opened to `config.temporal.address`. */
  connection?: NativeConnection;
  /** A pre-built workflow bundle (tests, container images); otherwise `workflows/` is bundled now. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** The user's steps (`--steps`, `SLUICE_STEPS`): registered beside Sluice's, their queues polled too. */
  steps?: LoadedSteps;
}

/** The Sluice worker pools of one process; `shutdown()` drains them and resolves when both stopped. */
export interface RunningWorker {
  /** Resolves when both pools have stopped; rejects if either fails. */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

/** Where the workflow code lives, whether we run from TypeScript sources or from `dist/`. */
export function workflowsPath(): string {
  const ts = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
  return existsSync(ts) ? ts : fileURLToPath(new URL('../workflows/index.js', import.meta.url));
}

/**
 * Start Sluice's two worker pools on one connection: `sluice` (workflows and light activities) and
 * `sluice-train` (CPU-heavy activities, with its own, lower concurrency so training cannot starve
 * orchestration).
 */
export async function startWorker(
  config: SluiceConfig,
  log: Log,
  options: StartWorkerOptions = {},
): Promise<RunningWorker> {
  installRuntime(log);
  const connection = options.connection ?? (await connect(config));
  const ownsConnection = options.connection === undefined;
  // Steps that talk to other workflows (registerModel → the model registry) need a client; it connects
  // on first use and closes with the worker.
  // With SLUICE_PAYLOAD_KEYS set, every payload the workers and this client write is encrypted.
  const dataConverter = payloadConverter(config.payloadKeys);
  const client = new Client({
    connection: Connection.lazy({ address: config.temporal.address }),
    namespace: config.temporal.namespace,
    ...(dataConverter ? { dataConverter } : {}),
  });
  const activities = {
    ...createActivities({
      home: config.home,
      artifacts: config.artifacts,
      dataRoots: config.dataRoots,
      piiKey: config.piiKey,
      client,
      taskQueue: config.taskQueues.orchestration,
    }),
    ...createNotifyActivities(),
    ...createDeployActivities({
      home: config.home,
      artifacts: config.artifacts,
      dataRoots: config.dataRoots,
      client,
      predictionLogDir: config.serve.predictionLogDir,
    }),
    ...createMonitorActivities({ config, client, alertWebhook: config.alertWebhook }),
    ...createStepCacheActivities(config.home, config.artifacts),
  };
  const steps: LoadedSteps = options.steps ?? new Map<string, LoadedStep>();
  for (const [name, step] of steps) {
    if (name in activities) {
      throw new PipelineDefinitionError(
        `step module ${step.module}: step "${name}" has the name of a Sluice activity: rename it`,
      );
    }
  }
  const custom = Object.fromEntries(
    [...steps].map(([name, { definition, ...step }]) => [
      name,
      definition.kind === 'sluice.trainer'
        ? customTrainerActivity(
            { ...step, definition },
            { home: config.home, artifacts: config.artifacts, dataRoots: config.dataRoots },
          )
        : customStepActivity({ ...step, definition }, { home: config.home, dataRoots: config.dataRoots }),
    ]),
  );
  Object.assign(activities, custom);
  const builtinQueues = new Set([config.taskQueues.orchestration, config.taskQueues.train]);
  const extraQueues = [
    ...new Set([...steps.values()].flatMap(({ definition }) => (definition.queue ? [definition.queue] : []))),
  ].filter((queue) => !builtinQueues.has(queue));
  const common = {
    connection,
    namespace: config.temporal.namespace,
    activities,
    ...(dataConverter ? { dataConverter } : {}),
  };

  const orchestration = await Worker.create({
    ...common,
    taskQueue: config.taskQueues.orchestration,
    ...workflowCode(options, log),
    maxConcurrentActivityTaskExecutions: config.concurrency.activities,
    maxCachedWorkflows: config.concurrency.cachedRuns,
  });
  const train = await Worker.create({
    ...common,
    taskQueue: config.taskQueues.train,
    maxConcurrentActivityTaskExecutions: config.concurrency.training,
  });
  // A step's own queue serves only the user's steps: another pool (or another language) may share it.
  const own = await Promise.all(
    extraQueues.map((taskQueue) =>
      Worker.create({
        ...common,
        activities: custom,
        taskQueue,
        maxConcurrentActivityTaskExecutions: config.concurrency.activities,
      }),
    ),
  );
  const pools = [orchestration, train, ...own];
  log.info(
    {
      queues: [config.taskQueues.orchestration, config.taskQueues.train, ...extraQueues],
      steps: [...steps.keys()],
      namespace: config.temporal.namespace,
    },
    'worker started',
  );
  const done = Promise.all(pools.map((pool) => pool.run()))
    .then(async () => {
      if (ownsConnection) await connection.close();
      log.info('worker stopped');
    })
    .finally(() => client.connection.close());
  return {
    done,
    async shutdown() {
      for (const worker of pools) {
        if (worker.getState() === 'RUNNING') worker.shutdown();
      }
      await done;
    },
  };
}

/**
 * The workflow code to run: the caller's bundle, else the one `npm run build` wrote to dist/ when the
 * workflow sources still match it, else `workflows/` bundled now (seconds of webpack; logged, with why).
 */
function workflowCode(
  options: StartWorkerOptions,
  log: Log,
): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  if (options.workflowBundle) return { workflowBundle: options.workflowBundle };
  const prebuilt = loadPrebuiltBundle();
  if ('code' in prebuilt) return { workflowBundle: { code: prebuilt.code } };
  log.info(`bundling workflows/ now: ${prebuilt.reason}`);
  return { workflowsPath: workflowsPath() };
}

async function connect(config: SluiceConfig): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect({ address: config.temporal.address });
  } catch (error) {
    throw new DependencyUnavailableError(
      `cannot reach Temporal at ${config.temporal.address} (${(error as Error).message.split('\n')[0]}): ` +
        'start one with `sluice dev` or set TEMPORAL_ADDRESS to a running cluster',
      { cause: error },
    );
  }
}
