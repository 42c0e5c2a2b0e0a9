import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  clusterDown,
  clusterStatus,
  clusterUp,
  type ClusterReport,
  type PartStatus,
} from '../../infra/cluster/provision.js';
import { renderEnvLine } from '../../infra/cluster/render.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import { context } from '../commands/shared.js';
import { table } from '../output.js';

export interface ClusterCommandOptions {
  home?: string;
}

export interface ClusterUpCommandOptions extends ClusterCommandOptions {
  temporalPort?: string;
  postgresPort?: string;
  minioPort?: string;
}

function port(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1024 || parsed > 65535) {
    throw new InvalidInputError(`${flag} ${value} is not a port: give a whole number from 1024 to 65535`);
  }
  return parsed;
}

function setup(options: ClusterCommandOptions, command: Command) {
  const { config, out } = context(command);
  return {
    out,
    base: {
      home: options.home ? resolve(options.home) : config.home,
      searchPath: config.searchPath,
      namespace: config.temporal.namespace,
      onProgress: (line: string) => out.status(`● ${line}`),
    },
  };
}

function partsTable(parts: PartStatus[], thisTime?: (part: PartStatus) => string): string {
  const header = ['part', 'state', 'pid', 'address', 'version', ...(thisTime ? ['this time'] : []), 'log'];
  return table([
    header,
    ...parts.map((part) => [
      part.part,
      part.running ? 'running' : 'stopped',
      part.pid === undefined ? '-' : String(part.pid),
      part.address,
      part.version,
      ...(thisTime ? [thisTime(part)] : []),
      part.log,
    ]),
  ]);
}

/** `sluice cluster up`. */
export async function clusterUpAction(options: ClusterUpCommandOptions, command: Command): Promise<void> {
  const { out, base } = setup(options, command);
  const report = await clusterUp({
    ...base,
    ports: {
      temporal: port('--temporal-port', options.temporalPort),
      postgres: port('--postgres-port', options.postgresPort),
      minio: port('--minio-port', options.minioPort),
    },
  });
  out.result(report, () =>
    [
      partsTable(report.parts, (part) =>
        part.started ? `started in ${part.seconds ?? 0} s` : 'was running',
      ),
      '',
      `Use it (the same lines are in ${report.envFile}, for \`source\`):`,
      `  ${renderEnvLine(report.env)}`,
      `e.g.  source ${report.envFile} && npx sluice worker`,
    ].join('\n'),
  );
}

/** `sluice cluster down`. */
export async function clusterDownAction(options: ClusterCommandOptions, command: Command): Promise<void> {
  const { out, base } = setup(options, command);
  const report: ClusterReport = await clusterDown(base);
  out.result(report, () =>
    report.parts.map((part) => `● ${part.part}: ${part.stopped ?? 'unknown'}`).join('\n'),
  );
}

/** `sluice cluster status`: exit code 0 whether or not it runs; the JSON says which. */
export async function clusterStatusAction(options: ClusterCommandOptions, command: Command): Promise<void> {
  const { out, base } = setup(options, command);
  const report = await clusterStatus(base);
  // Status shows where the env file is, never the secret itself.
  const shown = {
    ...report,
    env: Object.fromEntries(Object.entries(report.env).filter(([key]) => key !== 'AWS_SECRET_ACCESS_KEY')),
  };
  out.result(shown, () =>
    report.exists
      ? `${partsTable(report.parts)}\nenv: ${report.envFile}`
      : `no cluster in ${report.root}: \`sluice cluster up\` starts one`,
  );
}
