import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import type { Command } from 'commander';
import { pino } from 'pino';
import { locateTemporalCli } from '../../infra/temporal/cli-provision.js';
import { ensureNamespaceReady, freePort, portOpen, probeTemporal } from '../../infra/temporal/cluster.js';
import { startDevServer } from '../../infra/temporal/dev-server.js';
import { createKey, loadKeys } from '../../lib/keys.js';
import { loadPipeline } from '../../pipelines/catalog.js';
import { ConfigurationError } from '../../pipelines/errors.js';
import { parseParamFlags, resolveRunParams } from '../../pipelines/params.js';
import { splitAddress, type SluiceConfig } from '../../lib/config.js';
import { writeFileAtomic } from '../../lib/fs-atomic.js';
import { ensureHomeWritable } from '../../worker/home.js';
import { createLogger, installRuntime } from '../../worker/logging.js';
import { startWorker } from '../../worker/run.js';
import { connectClient } from '../../client/connect.js';
import { devServerRecordPath, type DevServerRecord } from '../../client/reads.js';
import { loadStepModules } from '../../pipelines/step-modules.js';
import type { Output } from '../output.js';
import { describeOpenGate } from '../approval-view.js';
import { describeStep, describeStop, followRun, startRun } from '../../client/runs.js';
import { Cleanup, untilShutdownSignal } from './lifecycle.js';
import { context } from '../commands/shared.js';
import type { DagStatus } from '../../workflows/index.js';

/** Roles for the shipped demo pipeline (its approval policy asks for role:risk). */
const demoRoles = { roles: { risk: ['risk-officer'], promoter: ['release-manager'] } };

/**
 * The demo asks for signed approvals: give its sample approver a key (before the run starts, so the
 * run records it) unless one is registered or a private key is already in place.
 */
async function ensureDemoKey(config: SluiceConfig, out: Output): Promise<void> {
  const identity = demoRoles.roles.risk[0] ?? 'risk-officer';
  const registered = (await loadKeys(config.keys.file)).some((k) => k.identity === identity && !k.revoked);
  if (registered || existsSync(join(config.keys.dir, `${identity}.pem`))) return;
  const { key, privateKeyFile } = await createKey({
    identity,
    keysFile: config.keys.file,
    keysDir: config.keys.dir,
  });
  out.status(
    `● the demo requires signed approvals: created key ${key.keyId} for ${identity} (private key ${privateKeyFile}, public key in ${config.keys.file})`,
  );
}

export interface DevOptions {
  run?: string;
  param: string[];
  exit?: boolean;
  steps: string[];
}

/** `sluice dev`: see the command's help in `cli/commands/dev.ts`. */
export async function devAction(options: DevOptions, command: Command): Promise<void> {
  const { config, out } = context(command);
  const cleanup = new Cleanup();
  // Listen from the first moment: a signal while the server starts or the run is followed must still
  // stop what was started (Node's default would exit at once and leave the dev server running).
  const shutdown = untilShutdownSignal();
  let summary: Record<string, unknown>;
  try {
    summary = await dev(config, out, options, cleanup, shutdown);
  } finally {
    await cleanup.run((line) => out.status(line));
  }
  out.result(summary, () => '● stopped');
}

async function dev(
  config: SluiceConfig,
  out: Output,
  options: DevOptions,
  cleanup: Cleanup,
  shutdown: Promise<NodeJS.Signals>,
): Promise<Record<string, unknown>> {
  let signalled: NodeJS.Signals | undefined;
  void shutdown.then((signal) => (signalled = signal));
  const stopping = (phase: string): boolean => {
    if (signalled) out.status(`● ${signalled} received ${phase}, shutting down`);
    return signalled !== undefined;
  };
  // Check everything that could refuse before starting anything, so nothing is left half-started.
  const spec = options.run ? await loadPipeline(options.run) : undefined;
  const runParams = spec ? resolveRunParams(spec, parseParamFlags(options.param)) : {};
  const steps = await loadStepModules([...config.steps, ...options.steps]);
  await ensureHomeWritable(config.home);
  if (!config.roles.explicit && !existsSync(config.roles.file)) {
    // The embedded default should be usable at once: sample roles for the demo's approval policy.
    await writeFile(config.roles.file, `${JSON.stringify(demoRoles, null, 2)}\n`);
    out.status(
      `● wrote sample roles to ${config.roles.file} (risk: risk-officer; promoter: release-manager) — edit it`,
    );
  }
  if (spec?.steps.some((step) => step.approval?.signed)) await ensureDemoKey(config, out);
  const logDir = join(config.home, 'logs');
  await mkdir(logDir, { recursive: true });
  const logFile = join(logDir, 'sluice.log');
  const log = createLogger(config, pino.destination({ dest: logFile, mkdir: true, sync: false }));
  installRuntime(log);
  const summary: Record<string, unknown> = {
    address: config.temporal.address,
    namespace: config.temporal.namespace,
    logFile,
  };

  if (stopping('before anything started')) return summary;
  const probe = await probeTemporal(config.temporal.address);
  if (probe.kind === 'other') {
    throw new ConfigurationError(
      `something other than a Temporal server answers at ${config.temporal.address} (${probe.reason}): ` +
        'stop it or set TEMPORAL_ADDRESS to a free host:port',
    );
  }
  if (probe.kind === 'temporal') {
    out.status(
      `● using the Temporal server already answering at ${config.temporal.address} (server ${probe.serverVersion})`,
    );
    const client = await Connection.connect({ address: config.temporal.address });
    try {
      await ensureNamespaceReady(client, config.temporal.namespace);
    } finally {
      await client.close();
    }
    summary['server'] = { reused: true, version: probe.serverVersion };
  } else {
    const cli = await locateTemporalCli({
      envPath: config.temporal.cliPath,
      searchPath: config.searchPath,
      cacheDir: join(config.home, 'bin'),
      onProgress: (line) => out.status(`● ${line}`),
    });
    const dbFile = join(config.home, 'temporal.db');
    out.status(
      `● starting the Temporal dev server (${cli.source === 'sdk-download' ? 'SDK download' : cli.path}, ${cli.version})`,
    );
    const server = await startDevServer({
      cli,
      address: config.temporal.address,
      namespace: config.temporal.namespace,
      uiPort: config.temporal.uiPort,
      httpPort: await devHttpPort(config.temporal.address),
      dbFile,
      logFile: join(logDir, 'temporal.log'),
    });
    const record = devServerRecordPath(config.home);
    cleanup.add('the Temporal dev server', async () => {
      out.status('● stopping the Temporal dev server');
      await rm(record, { force: true });
      await server.stop();
    });
    if (server.httpAddress) {
      const entry: DevServerRecord = {
        address: server.address,
        httpAddress: server.httpAddress,
        pid: server.pid,
      };
      await writeFileAtomic(record, JSON.stringify(entry));
    }
    out.status(`● Temporal dev server on ${server.address}, namespace ${config.temporal.namespace}`);
    out.status(
      `● Web UI ${server.uiUrl ?? '(headless)'} · HTTP API ${server.httpAddress ?? '(none)'} · histories kept in ${dbFile} · server log ${server.logFile}`,
    );
    summary['server'] = { reused: false, cli, dbFile, uiUrl: server.uiUrl };
  }

  if (stopping('while the Temporal server started')) return summary;
  const worker = await startWorker(config, log, { steps });
  cleanup.add('the worker', async () => {
    out.status('● stopping the worker (finishing running tasks)');
    await worker.shutdown();
  });
  out.status(
    `● worker polling ${config.taskQueues.orchestration} and ${config.taskQueues.train} · logs in ${logFile}`,
  );

  if (stopping('while the worker started')) return summary;
  if (spec) {
    const client = await connectClient(config);
    try {
      const handle = await startRun(client, config, spec, { runParams, steps });
      out.status(`● run ${handle.workflowId} of ${spec.id} started`);
      const following = new AbortController();
      void shutdown.then(() => following.abort());
      let status: DagStatus;
      try {
        status = await followRun(
          handle,
          (step) => out.status(describeStep(step)),
          300,
          (gate, now) =>
            describeOpenGate(handle.workflowId, now, gate).forEach((line) => out.status(`● ${line}`)),
          following.signal,
        );
      } catch (error) {
        if (!following.signal.aborted) throw error;
        stopping(
          `while run ${handle.workflowId} went on (it continues when a worker polls this server again)`,
        );
        summary['run'] = { workflowId: handle.workflowId, status: null };
        return summary;
      }
      out.status(
        status.stoppedBy
          ? `● ${describeStop(handle.workflowId, status.stoppedBy)}`
          : `● run ${handle.workflowId} ${status.state}`,
      );
      summary['run'] = { workflowId: handle.workflowId, status };
    } finally {
      await client.connection.close();
    }
  }
  if (options.exit) return summary;
  out.status('● ready · Ctrl-C stops everything');
  const signal = await Promise.race([shutdown, worker.done.then(() => undefined)]);
  out.status(signal ? `● ${signal} received, shutting down` : '● the worker stopped, shutting down');
  return summary;
}

/**
 * The dev server's HTTP API port: Temporal's convention (the gRPC port + 10: 7233 → 7243) when free,
 * else any free port. `sluice dev` records it for the read-only control commands (client/reads.ts).
 */
async function devHttpPort(address: string): Promise<number> {
  const { host, port } = splitAddress(address);
  if (port + 10 <= 65535 && !(await portOpen(host, port + 10))) return port + 10;
  return freePort(host);
}
