// docker-compose.yml cannot run in the development sandbox (no Docker engine), so it is checked against
// the code instead: the variables, images, commands and dynamic config `sluice cluster up` and the
// cluster tests use. A drift (a renamed variable, a new server version, a source directory the image
// does not copy) fails here rather than on an operator's first `docker compose up`.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerCore } from '../../cli/commands/core.js';
import { registerServe } from '../../cli/commands/serve.js';
import { MINIO, TEMPORAL_SERVER } from '../../infra/cluster/go-build.js';
import { defaultBucket, planPorts } from '../../infra/cluster/layout.js';
import { clusterEnv, renderDynamicConfig } from '../../infra/cluster/render.js';
import { devServerDynamicConfig } from '../../infra/temporal/dev-server.js';
import { configVariables, loadConfig } from '../../lib/config.js';
import { projectRoot } from '../support/paths.js';

// js-yaml is in node_modules through the lint tooling; it has no bundled types, so its one function is typed here.
const { load: parseYaml } = createRequire(import.meta.url)('js-yaml') as { load: (text: string) => unknown };

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[] | string;
  entrypoint?: string[];
  environment?: Record<string, string | number>;
  volumes?: string[];
  healthcheck?: { test: string[] };
}

const read = (file: string) => readFileSync(join(projectRoot, file), 'utf8');
const compose = parseYaml(read('docker-compose.yml')) as { services: Record<string, Service> };
const services = compose.services;
const service = (name: string): Service => {
  const found = services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
};

/** Compose's interpolation of `${VAR}`, `${VAR:-default}` and `${VAR:?message}`, with `vars` as the shell's. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(
    /\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g,
    (_, name: string, op?: string, rest?: string) => {
      const set = vars[name];
      if (set !== undefined && set !== '') return set;
      if (op === '-') return rest ?? '';
      throw new Error(`docker-compose.yml needs ${name}: ${rest ?? ''}`);
    },
  );
}

const shell = { MINIO_ROOT_PASSWORD: 'a'.repeat(48) };
const environment = (name: string) =>
  Object.fromEntries(
    Object.entries(service(name).environment ?? {}).map(([key, value]) => [
      key,
      interpolate(String(value), shell),
    ]),
  );

/** The services that run the `sluice` command (the Sluice image with its own entrypoint). */
const sluiceServices = Object.entries(services)
  .filter(([, s]) => s.image === 'sluice:latest' && s.entrypoint === undefined)
  .map(([name]) => name);

/** What `sluice cluster up` gives every worker, serving replica and CLI (and the cluster tests use). */
const clusterVariables = Object.keys(
  clusterEnv(
    { version: 1, ports: planPorts(), ...defaultBucket, namespace: 'default', createdAt: '' },
    { accessKeyId: 'sluice', secretAccessKey: 'secret-key' },
  ),
);

describe('docker-compose.yml', () => {
  it('runs the worker, the prediction server and the CLI from the Sluice image', () => {
    expect(sluiceServices.sort()).toEqual(['sluice-cli', 'sluice-serve', 'sluice-worker']);
    const program = new Command('sluice');
    registerCore(program);
    registerServe(program);
    for (const name of sluiceServices) {
      const args = service(name).command;
      if (!Array.isArray(args)) continue; // the CLI service takes its command from `docker compose run`
      const command = program.commands.find((c) => c.name() === args[0]);
      expect(command, `${name}: \`sluice ${args.join(' ')}\` is not a sluice command`).toBeDefined();
      for (const option of args.slice(1).filter((a) => a.startsWith('--'))) {
        expect(
          command?.options.map((o) => o.long),
          `${name}: sluice ${args[0]} has no ${option}`,
        ).toContain(option);
      }
    }
  });

  it('gives every Sluice service the variables `sluice cluster up` gives its workers, and its own SLUICE_HOME', () => {
    for (const name of sluiceServices) {
      const env = environment(name);
      for (const variable of [...clusterVariables, 'SLUICE_HOME']) {
        expect(env, `${name} sets no ${variable}`).toHaveProperty(variable);
      }
      // SLUICE_HOME is the container's own disk: no volume (named or bound) is mounted over it.
      const mounts = (service(name).volumes ?? []).map((v) => v.split(':')[1] ?? '');
      expect(
        mounts.filter((m) => env.SLUICE_HOME?.startsWith(m) || m.startsWith(env.SLUICE_HOME ?? '/')),
      ).toEqual([]);
    }
    expect(read('infra/worker.Dockerfile')).toMatch(/^VOLUME \["\/var\/lib\/sluice"\]$/m);
  });

  it('names only variables Sluice reads, and they parse into a cluster configuration', () => {
    for (const name of [...sluiceServices, 'minio-bucket']) {
      const env = environment(name);
      const ours = Object.keys(env).filter((k) => /^(SLUICE|TEMPORAL|AWS)_/.test(k));
      expect(
        ours.filter((k) => !configVariables.includes(k)),
        `${name} sets variables Sluice never reads`,
      ).toEqual([]);
      const config = loadConfig(env, '/app');
      expect(config.artifacts).toMatchObject({
        kind: 's3',
        endpoint: 'http://minio:9000',
        region: 'us-east-1',
      });
      if (name !== 'minio-bucket') expect(config.temporal.address).toBe('temporal:7233');
    }
  });

  it('stores artifacts in the bucket the one-shot service creates, on the port MinIO listens on', () => {
    const env = environment('sluice-worker');
    const command = [service('minio-bucket').command ?? ''].flat().join('\n');
    expect(command).toContain(`Bucket: '${/^s3:\/\/([^/]+)/.exec(env.SLUICE_ARTIFACTS ?? '')?.[1]}'`);
    const dockerfile = read('infra/minio.Dockerfile');
    expect(dockerfile).toContain(`go install ${MINIO.module}@${MINIO.version}`);
    expect(dockerfile).toMatch(/--address", ":9000"/);
    expect(service('minio').build?.dockerfile).toBe('infra/minio.Dockerfile');
    // The MinIO root credentials are the store's.
    const minio = environment('minio');
    expect([minio.MINIO_ROOT_USER, minio.MINIO_ROOT_PASSWORD]).toEqual([
      env.AWS_ACCESS_KEY_ID,
      env.AWS_SECRET_ACCESS_KEY,
    ]);
  });

  it('runs the Temporal server release the cluster builds, with the dynamic config the cluster and the dev server use', () => {
    const temporal = service('temporal');
    expect(temporal.image).toBe(`temporalio/auto-setup:${TEMPORAL_SERVER.version.replace(/^v/, '')}`);
    const path = String(temporal.environment?.DYNAMIC_CONFIG_FILE_PATH);
    const mount = (temporal.volumes ?? []).find((v) => v.split(':')[1] === `/etc/temporal/${path}`);
    expect(mount, `no volume mounts the dynamic config at /etc/temporal/${path}`).toBeDefined();
    const mounted = parseYaml(read(mount?.split(':')[0] ?? ''));
    expect(mounted).toEqual(parseYaml(renderDynamicConfig(devServerDynamicConfig)));
    // The auto-setup image has the Temporal CLI, not tctl.
    expect(temporal.healthcheck?.test.slice(1, 5)).toEqual(['temporal', 'operator', 'cluster', 'health']);
  });

  it('builds an image holding every directory the TypeScript build compiles', () => {
    const include = (JSON.parse(read('tsconfig.build.json')) as { include: string[] }).include;
    const copied = [...read('infra/worker.Dockerfile').matchAll(/^COPY (?!--from)(.+)$/gm)].flatMap(
      ([, args]) => args?.split(/\s+/).slice(0, -1) ?? [],
    );
    expect(include.filter((entry) => !copied.includes(entry))).toEqual([]);
  });
});
