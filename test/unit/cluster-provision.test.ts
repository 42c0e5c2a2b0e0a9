import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeEach, describe, expect, it } from 'vitest';
import { ensureGoBinary, TEMPORAL_SERVER } from '../../infra/cluster/go-build.js';
import { clusterPaths, planPorts, portOwners, type ClusterState } from '../../infra/cluster/layout.js';
import { locatePostgres } from '../../infra/cluster/postgres.js';
import {
  clusterEnv,
  renderDynamicConfig,
  renderEnvFile,
  renderEnvLine,
  renderServerConfig,
} from '../../infra/cluster/render.js';
import { devServerDynamicConfig } from '../../infra/temporal/dev-server.js';
import { ConfigurationError, DependencyUnavailableError } from '../../pipelines/errors.js';
import { projectRoot } from '../support/paths.js';

const run = promisify(execFile);
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-cluster-'));
});

describe('port planning', () => {
  it('the defaults stay clear of the dev server (7233, 8233) and a system PostgreSQL (5432)', () => {
    const ports = portOwners(planPorts()).map((owner) => owner.port);
    expect(new Set(ports).size).toBe(ports.length);
    for (const taken of [7233, 8233, 5432, 9000]) expect(ports).not.toContain(taken);
    expect(planPorts()).toMatchObject({
      frontend: 17233,
      postgres: 15432,
      minio: 19000,
      minioConsole: 19001,
    });
  });

  it('one number moves every Temporal service port; overlapping choices are refused by flag', () => {
    const ports = planPorts({ temporal: 30000, postgres: 31000, minio: 32000 });
    const temporal = portOwners(ports).filter((owner) => owner.part === 'temporal');
    expect(temporal.map((owner) => owner.port)).toEqual([
      30000, 30001, 30002, 30003, 30004, 30005, 30006, 30007, 30008, 30009,
    ]);
    expect(() => planPorts({ temporal: 30000, postgres: 30005 })).toThrow(
      '--postgres-port 30005 overlaps --temporal-port 30000 (ports 30000-30009): choose ports apart',
    );
    expect(() => planPorts({ minio: 65535 })).toThrow(ConfigurationError);
    // The server keeps membership ports in a PostgreSQL smallint: found when it refused 49156.
    expect(() => planPorts({ temporal: 49149 })).toThrow(
      '--temporal-port 49149 is too high: the Temporal server records its membership ports in a PostgreSQL smallint',
    );
  });
});

describe('the Temporal server config', () => {
  const ports = planPorts({ temporal: 30000, postgres: 31000, minio: 32000 });
  const yaml = renderServerConfig({
    ports,
    dynamicConfigFile: '/abs/cluster/temporal/config/dynamicconfig.yaml',
  });

  it('uses only the planned ports, none of the release defaults', () => {
    expect(yaml).toContain('connectAddr: "127.0.0.1:31000"');
    expect(yaml.match(/connectAddr/g)).toHaveLength(2);
    expect(yaml).toContain('rpcAddress: "127.0.0.1:30000"');
    for (const port of [7233, 7234, 7235, 7239, 7243, 6933, 6934, 6935, 6939, 8000, 5432]) {
      expect(yaml).not.toMatch(new RegExp(`\\b${port}\\b`));
    }
  });

  it('points at the dynamic config by absolute path, with the dev server values', () => {
    expect(yaml).toContain('filepath: "/abs/cluster/temporal/config/dynamicconfig.yaml"');
    expect(renderDynamicConfig(devServerDynamicConfig)).toContain(
      'history.transferProcessorMaxPollRPS:\n  - value: 1000\n',
    );
    expect(renderDynamicConfig({ 'x.name': 'a b', 'x.flag': 'true' })).toContain(
      'x.name:\n  - value: "a b"\nx.flag:\n  - value: true\n',
    );
  });

  it("docker-compose's dynamic config carries the same values as the dev server and the local cluster", async () => {
    const composeConfig = await readFile(join(projectRoot, 'infra/temporal/dynamicconfig.yaml'), 'utf8');
    for (const [key, value] of Object.entries(devServerDynamicConfig)) {
      expect(composeConfig).toMatch(
        new RegExp(`^${key.replace(/\./g, '\\.')}:\\n\\s+- value: ${value}$`, 'm'),
      );
    }
  });
});

describe('the env file', () => {
  const state: ClusterState = {
    version: 1,
    ports: planPorts(),
    bucket: 'sluice',
    prefix: 'artifacts',
    namespace: 'default',
    createdAt: '2026-01-01T00:00:00.000Z',
  };
  const env = clusterEnv(state, { accessKeyId: 'sluice-abc', secretAccessKey: `it's-a "secret" $HOME` });

  it('names the cluster, the store and its credentials', () => {
    expect(env).toMatchObject({
      TEMPORAL_ADDRESS: '127.0.0.1:17233',
      SLUICE_ARTIFACTS: 's3://sluice/artifacts',
      SLUICE_S3_ENDPOINT: 'http://127.0.0.1:19000',
      AWS_ACCESS_KEY_ID: 'sluice-abc',
    });
  });

  it('gives back every value exactly when sourced by sh, and as a one-line prefix', async () => {
    const file = join(dir, 'env');
    await writeFile(file, renderEnvFile(env));
    const sourced = await run('sh', ['-c', `. ${file}; env`], { env: { PATH: process.env['PATH'] ?? '' } });
    for (const [key, value] of Object.entries(env)) expect(sourced.stdout).toContain(`${key}=${value}\n`);
    const line = await run('sh', ['-c', `${renderEnvLine(env)} env`], {
      env: { PATH: process.env['PATH'] ?? '' },
    });
    expect(line.stdout).toContain(`AWS_SECRET_ACCESS_KEY=it's-a "secret" $HOME\n`);
  });

  it('lives under SLUICE_HOME/cluster, with binaries in SLUICE_HOME/bin', () => {
    const paths = clusterPaths('/srv/sluice');
    expect(paths.envFile).toBe('/srv/sluice/cluster/env');
    expect(paths.binDir).toBe('/srv/sluice/bin');
    expect(paths.postgres.data.startsWith('/srv/sluice/cluster/')).toBe(true);
  });
});

describe('finding the binaries', () => {
  it('a binary Sluice built at the pinned version is used as is', async () => {
    const binDir = join(dir, 'bin');
    await mkdir(binDir);
    const path = join(binDir, TEMPORAL_SERVER.binary);
    await writeFile(path, '#!/bin/sh\n');
    await chmod(path, 0o755);
    await writeFile(`${path}.json`, JSON.stringify({ version: TEMPORAL_SERVER.version }));
    await expect(ensureGoBinary(TEMPORAL_SERVER, { binDir, searchPath: '' })).resolves.toEqual({
      path,
      version: TEMPORAL_SERVER.version,
      source: 'cache',
    });
  });

  it('another version is not used; without a build it says which and what to run', async () => {
    const binDir = join(dir, 'bin');
    await mkdir(binDir);
    const path = join(binDir, TEMPORAL_SERVER.binary);
    await writeFile(path, '#!/bin/sh\n');
    await chmod(path, 0o755);
    await writeFile(`${path}.json`, JSON.stringify({ version: 'v1.20.0' }));
    const error = await ensureGoBinary(TEMPORAL_SERVER, { binDir, searchPath: '', allowBuild: false }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect((error as Error).message).toBe(
      `the Temporal server is not built (${path} is v1.20.0, not v1.29.1): run \`npx sluice setup --cluster\` (needs Go)`,
    );
  });

  it('no PostgreSQL: the error says how to install it', async () => {
    const error = await locatePostgres(join(dir, 'no-postgresql')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect((error as Error).message).toContain('apt-get install -y postgresql');
  });
});
