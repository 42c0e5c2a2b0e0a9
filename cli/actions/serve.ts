import type { Command } from 'commander';
import { pino } from 'pino';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import { selectTfBackend } from '../../activities/tf-backend.js';
import { loadPipeline } from '../../pipelines/catalog.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import { modelNameProblem } from '../../pipelines/registry.js';
import { guardFromConfig } from '../../serving/guard.js';
import { createServingServer } from '../../serving/server.js';
import { ensureHomeWritable } from '../../worker/home.js';
import { createLogger } from '../../worker/logging.js';
import { connectClient } from '../../client/connect.js';
import { context } from '../commands/shared.js';
import { describeModel } from '../../client/registry.js';
import { untilShutdownSignal } from './lifecycle.js';
import { replicaName, sharedLogsFor } from '../../lib/shared-logs.js';

export interface ServeOptions {
  model: string[];
  pipeline: string[];
  canary?: string;
  shadow?: boolean;
  poll: string;
  /** `sluice console`: no model needed; print the console's URL. */
  console?: boolean;
}

/** Run the prediction server in the foreground until SIGINT/SIGTERM, then drain and flush the log. */
export async function serveAction(options: ServeOptions, command: Command): Promise<void> {
  const { config, out } = context(command);
  if (!options.console && options.model.length === 0 && options.pipeline.length === 0) {
    throw new InvalidInputError(
      'give at least one --model <name> to serve (or --pipeline <id> to take events for; or run `sluice console`)',
    );
  }
  for (const model of options.model) {
    const problem = modelNameProblem(model);
    if (problem) throw new InvalidInputError(`--model ${model}: ${problem}`);
  }
  const canary = options.canary === undefined ? undefined : Number(options.canary);
  if (canary !== undefined && !(Number.isFinite(canary) && canary >= 0 && canary <= 100)) {
    throw new InvalidInputError(`--canary ${options.canary}: give a percent from 0 to 100`);
  }
  const pollMs = Number(options.poll);
  if (!Number.isInteger(pollMs) || pollMs < 0) {
    throw new InvalidInputError(
      `--poll ${options.poll}: give milliseconds as a whole number (0 turns polling off)`,
    );
  }
  await ensureHomeWritable(config.home);
  const pipelines = await Promise.all(options.pipeline.map((ref) => loadPipeline(ref)));
  const log = createLogger(config, pino.destination({ dest: out.json ? 2 : 1, sync: false }));
  const guard = await guardFromConfig(config.serve, log);
  const backend = await selectTfBackend();
  const tf = await import('@tensorflow/tfjs');
  const client = await connectClient(config);
  const server = await createServingServer({
    tf,
    store: createArtifactStore(config.home, config.artifacts),
    registry: (model) => describeModel(client, model),
    log,
    guard,
    predictAuth: config.serve.predictAuth,
    control: { client, config, pipelines },
    // Neither flag: follow the registry's traffic (set by deploy steps); either one: a manual override.
    deployments: options.model.map((model) =>
      canary === undefined && options.shadow === undefined
        ? { model }
        : { model, canaryPercent: canary ?? 0, shadow: options.shadow ?? false },
    ),
    bodyLimit: config.serve.bodyLimit,
    predictionLog: {
      dir: config.serve.predictionLogDir,
      shared: sharedLogsFor(config.artifacts),
      replica: replicaName(config.home),
    },
    pollMs,
  });
  const url = await server.listen(config.serve.host, config.serve.port);
  log.info(
    {
      url,
      models: options.model,
      pipelines: pipelines.map((p) => p.id),
      tokens: guard.tokenCount,
      backend: backend.name,
      ready: server.pool.ready,
    },
    'serving',
  );
  if (options.console) {
    process.stderr.write(
      `sluice console: open ${url}/console/ and log in with a token (\`sluice token create --identity <you> --role approver\`); Ctrl-C stops it\n`,
    );
  }
  const signal = await untilShutdownSignal();
  log.info({ signal }, 'shutting down: draining requests and flushing the prediction log');
  await server.close();
  await client.connection.close();
  if (out.json) out.result({ stopped: true, signal, url }, () => '');
}
