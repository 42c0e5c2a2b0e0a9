import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import type { Command } from 'commander';
import { locateTemporalCli } from '../../infra/temporal/cli-provision.js';
import { probeTemporal } from '../../infra/temporal/cluster.js';
import { selectTfBackend } from '../../activities/tf-backend.js';
import { oneLine } from '../../pipelines/errors.js';
import { sluiceSearchAttributes } from '../../pipelines/search-attributes.js';
import { readTokens } from '../../serving/tokens.js';
import { loadConfig, type SluiceConfig } from '../../lib/config.js';
import { ensureHomeWritable } from '../../worker/home.js';
import { Output, table } from '../output.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';
export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export async function doctorAction(command: Command): Promise<void> {
  const out = new Output(command.optsWithGlobals<{ json?: boolean }>().json === true);
  const checks = await runChecks();
  const failed = checks.filter((check) => check.status === 'fail');
  out.result({ ok: failed.length === 0, checks }, () =>
    table([
      ['check', 'status', 'detail', 'fix'],
      ...checks.map((c) => [c.name, c.status, c.detail, c.fix ?? '']),
    ]),
  );
  if (failed.length > 0) {
    process.stderr.write(`sluice: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}\n`);
    process.exitCode = 1;
  }
}

/** Every check, each independent: one failing never hides the others. */
export async function runChecks(): Promise<Check[]> {
  const checks: Check[] = [checkNode()];
  let config: SluiceConfig;
  try {
    config = loadConfig();
    checks.push({
      name: 'config',
      status: 'ok',
      detail: `TEMPORAL_ADDRESS=${loadConfig().temporal.address}`,
    });
  } catch (error) {
    checks.push({ name: 'config', status: 'fail', detail: oneLine(error), fix: 'fix the named variable' });
    return checks;
  }
  checks.push(
    await attempt(
      'sluice-home',
      async () => {
        await ensureHomeWritable(config.home);
        return { status: 'ok', detail: `${config.home} is writable` };
      },
      'set SLUICE_HOME to a writable directory',
    ),
  );
  checks.push(
    await attempt(
      'temporal-cli',
      async () => {
        const cli = await locateTemporalCli({
          envPath: config.temporal.cliPath,
          searchPath: config.searchPath,
          cacheDir: join(config.home, 'bin'),
          allowBuild: false,
        });
        return cli.source === 'sdk-download'
          ? { status: 'ok', detail: `the SDK will download it into ${cli.downloadDir}` }
          : { status: 'ok', detail: `${cli.version} at ${cli.path} (${cli.source})` };
      },
      'run `npx sluice setup` (needs Go) or install the Temporal CLI and put it on PATH',
    ),
  );
  checks.push(...(await checkServer(config)));
  checks.push(
    await attempt(
      'tfjs-backend',
      async () => {
        const backend = await selectTfBackend();
        const detail = `${backend.name} (tfjs ${backend.tfjsVersion})${backend.skipped.length ? `; skipped ${backend.skipped.join('; ')}` : ''}`;
        return { status: backend.name === 'cpu' ? 'warn' : 'ok', detail };
      },
      'npm install @tensorflow/tfjs-backend-wasm (or @tensorflow/tfjs-node where it can download libtensorflow)',
    ),
  );
  checks.push(
    await attempt(
      'tokens',
      () => checkTokens(config.serve.tokensFile),
      `chmod 600 ${config.serve.tokensFile}`,
    ),
  );
  return checks;
}

/** The HTTP tokens file: valid, and readable by its owner only (it holds hashes, but still). */
async function checkTokens(file: string): Promise<Omit<Check, 'name' | 'fix'>> {
  const tokens = await readTokens(file);
  const live = tokens.filter((t) => t.revokedAt === undefined).length;
  if (tokens.length === 0) {
    return {
      status: 'ok',
      detail: `no tokens (${file}): serving's state-changing routes refuse every request; \`sluice token create\` makes one`,
    };
  }
  const mode = (await stat(file)).mode & 0o777;
  const detail = `${live} live of ${tokens.length} in ${file} (mode ${mode.toString(8)})`;
  return { status: (mode & 0o077) === 0 ? 'ok' : 'warn', detail };
}

function checkNode(): Check {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const ok = major > 20 || (major === 20 && minor >= 19);
  return ok
    ? { name: 'node', status: 'ok', detail: `v${process.versions.node}` }
    : {
        name: 'node',
        status: 'fail',
        detail: `v${process.versions.node} is too old`,
        fix: 'install Node 20.19 or newer',
      };
}

async function checkServer(config: SluiceConfig): Promise<Check[]> {
  const address = config.temporal.address;
  const probe = await probeTemporal(address);
  if (probe.kind === 'closed') {
    return [
      {
        name: 'temporal-server',
        status: 'fail',
        detail: `nothing answers at ${address}`,
        fix: 'start one with `npx sluice dev`, or set TEMPORAL_ADDRESS',
      },
    ];
  }
  if (probe.kind === 'other') {
    return [
      {
        name: 'temporal-server',
        status: 'fail',
        detail: `${address} answers but is not Temporal (${probe.reason})`,
        fix: 'point TEMPORAL_ADDRESS at a Temporal frontend',
      },
    ];
  }
  const server: Check = {
    name: 'temporal-server',
    status: 'ok',
    detail: `server ${probe.serverVersion} at ${address}`,
  };
  const namespace = await attempt(
    'namespace',
    async () => {
      const connection = await Connection.connect({ address });
      try {
        const { customAttributes } = await connection.operatorService.listSearchAttributes({
          namespace: config.temporal.namespace,
        });
        const missing = sluiceSearchAttributes
          .filter((key) => !(key.name in (customAttributes ?? {})))
          .map((key) => key.name);
        return missing.length === 0
          ? { status: 'ok', detail: `${config.temporal.namespace} with Sluice search attributes` }
          : {
              status: 'fail',
              detail: `${config.temporal.namespace} lacks search attributes ${missing.join(', ')}`,
            };
      } finally {
        await connection.close();
      }
    },
    'run `npx sluice dev` once against this server; it registers them',
  );
  return [server, namespace];
}

async function attempt(
  name: string,
  check: () => Promise<Omit<Check, 'name' | 'fix'>>,
  fix: string,
): Promise<Check> {
  try {
    const result = await check();
    return result.status === 'ok' ? { name, ...result } : { name, ...result, fix };
  } catch (error) {
    return { name, status: 'fail', detail: oneLine(error), fix };
  }
}
