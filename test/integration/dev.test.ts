import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { portOpen } from '../../infra/temporal/cluster.js';
import { sluice, startSluice, type LiveSluice } from '../support/cli.js';
import { freePort } from '../support/paths.js';

const running: LiveSluice[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop('SIGKILL')));
});

async function devEnv(): Promise<Record<string, string>> {
  return {
    SLUICE_HOME: await mkdtemp(join(tmpdir(), 'sluice-dev-')),
    TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
    SLUICE_UI_PORT: String(await freePort()),
    TEMPORAL_CLI_PATH: inject('temporalCliPath'),
  };
}

function dev(args: string[], env: Record<string, string>): LiveSluice {
  const live = startSluice(['dev', ...args], env);
  running.push(live);
  return live;
}

describe('sluice dev', () => {
  it('starts server, UI and worker, runs the first DAG, stops cleanly on Ctrl-C, and keeps histories across restarts', async () => {
    const env = await devEnv();
    const first = dev(['--run', 'first-dag'], env);
    const output = await first.waitFor(/● ready · Ctrl-C stops everything/);
    expect(output).toContain(`● Temporal dev server on ${env['TEMPORAL_ADDRESS']}, namespace default`);
    expect(output).toContain(join(env['SLUICE_HOME']!, 'temporal.db'));
    expect(output).toMatch(/✓ profile succeeded/);
    expect(output).toMatch(/✓ summarize succeeded/);
    const runId = /run (first-dag-\S+) succeeded/.exec(output)?.[1];
    expect(runId).toBeDefined();

    const ui = await fetch(`http://127.0.0.1:${env['SLUICE_UI_PORT']}/`);
    expect(ui.status).toBe(200);

    expect(await first.stop('SIGINT')).toBe(0);
    expect(first.output()).toMatch(
      /stopping the worker[\s\S]*stopping the Temporal dev server[\s\S]*● stopped/,
    );
    const [host, port] = env['TEMPORAL_ADDRESS']!.split(':') as [string, string];
    expect(await portOpen(host, Number(port))).toBe(false);
    expect(await portOpen(host, Number(env['SLUICE_UI_PORT']))).toBe(false);

    const second = dev([], env);
    await second.waitFor(/● ready/);
    const status = await sluice(['status', runId!, '--json'], env);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      temporalState: 'COMPLETED',
      status: { state: 'succeeded' },
    });
    expect(await second.stop('SIGTERM')).toBe(0);
  });

  it('a signal while it follows the run stops everything it started; the run waits on the server', async () => {
    const env = await devEnv();
    const pipeline = fileURLToPath(new URL('fixtures/event-approval.pipeline.ts', import.meta.url));
    const first = dev(['--run', pipeline], env);
    const output = await first.waitFor(/approve: npx sluice approve (event-approval-\S+)/);
    const runId = /approve: npx sluice approve (event-approval-\S+)/.exec(output)?.[1];
    expect(output).not.toContain('● ready');
    expect(await first.stop('SIGTERM')).toBe(0);
    expect(first.output()).toMatch(
      new RegExp(
        `SIGTERM received while run ${runId} went on[\\s\\S]*stopping the worker[\\s\\S]*stopping the Temporal dev server[\\s\\S]*● stopped`,
      ),
    );
    expect(first.output()).not.toMatch(/Channel has been shut down|MaxListenersExceeded/);
    const [host, port] = env['TEMPORAL_ADDRESS']!.split(':') as [string, string];
    expect(await portOpen(host, Number(port))).toBe(false);

    const second = dev([], env);
    await second.waitFor(/● ready/);
    const status = await sluice(['status', runId!, '--json'], env);
    expect(JSON.parse(status.stdout)).toMatchObject({
      temporalState: 'RUNNING',
      status: { state: 'running', approvals: [{ step: 'approve', state: 'awaiting' }] },
    });
    expect(await second.stop('SIGINT')).toBe(0);
  });

  it('uses a Temporal server that already answers instead of starting one', async () => {
    const env = {
      ...(await devEnv()),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      SLUICE_TASK_QUEUE: 'dev-reuse',
    };
    const result = await sluice(['dev', '--run', 'first-dag', '--exit', '--json'], env);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      `● using the Temporal server already answering at ${inject('temporalAddress')}`,
    );
    expect(JSON.parse(result.stdout)).toMatchObject({
      server: { reused: true },
      run: { status: { state: 'succeeded' } },
    });
  });

  it('refuses a frontend port held by something that is not Temporal, starting nothing', async () => {
    const env = await devEnv();
    const blocker = await listen(Number(env['TEMPORAL_ADDRESS']!.split(':')[1]));
    try {
      const result = await sluice(['dev'], env);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        new RegExp(
          `^sluice: something other than a Temporal server answers at ${env['TEMPORAL_ADDRESS']} .*: stop it or set TEMPORAL_ADDRESS to a free host:port\\n$`,
        ),
      );
    } finally {
      blocker.close();
    }
  });

  it('refuses a Web UI port in use, leaving no server behind', async () => {
    const env = await devEnv();
    const blocker = await listen(Number(env['SLUICE_UI_PORT']));
    try {
      const result = await sluice(['dev'], env);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `sluice: port ${env['SLUICE_UI_PORT']} (Temporal Web UI) is already in use by another process: stop it or set SLUICE_UI_PORT to a free port\n`,
      );
      expect(await portOpen('127.0.0.1', Number(env['TEMPORAL_ADDRESS']!.split(':')[1]))).toBe(false);
    } finally {
      blocker.close();
    }
  });
});

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.end('HTTP/1.1 200 OK\r\n\r\nnot temporal');
    });
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
