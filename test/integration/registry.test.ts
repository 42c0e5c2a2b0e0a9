import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { withDuckDB } from '../../lib/duckdb.js';
import type { RegisterModelOutput } from '../../activities/registry.js';
import { followRun, startRun } from '../../client/runs.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  describeModel,
  modelHistory,
  promoteModel,
  registerModelVersion,
  registryTarget,
  RegistryRefusedError,
  rollbackModel,
  type ModelSummary,
  type RegistryTarget,
} from '../../client/registry.js';
import type { ApprovalGateStatus } from '../../pipelines/approval.js';
import { definePipeline } from '../../pipelines/define.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import type { RegisterVersionInput, RegistryEvent } from '../../pipelines/registry.js';
import type { SluiceConfig } from '../../lib/config.js';
import type { RunningWorker } from '../../worker/run.js';
import type { DagStatus } from '../../workflows/index.js';
import { sluice } from '../support/cli.js';
import { dataDir } from '../support/paths.js';
import { testConfig, testWorker } from '../support/worker.js';

let config: SluiceConfig;
let env: Record<string, string>;
let worker: RunningWorker;
let client: Client;
let target: RegistryTarget;

/** Registry ids are global in the namespace: every model here gets a name no other test file uses. */
const suffix = randomBytes(3).toString('hex');
const name = (base: string) => `${base}-${suffix}`;
const sha = (n: number) => createHash('sha256').update(String(n)).digest('hex');
const at = '2026-11-24T10:00:00.000Z';
const grace = { by: 'grace', authorisedBy: 'role:promoter' as const, roleMembers: ['grace'] };

function lineage(n: number, approved = false): RegisterVersionInput {
  return {
    requestId: `run-${suffix}-${n}/register`,
    runId: `run-id-${n}`,
    workflowId: `churn-run-${suffix}-${n}`,
    pipeline: 'churn',
    dataSha256s: [sha(1000 + n)],
    model: { uri: `file:///m/${n}.json`, sha256: sha(n), kind: 'model', format: 'json', bytes: 100 + n },
    metrics: { auc: { value: 0.7 + n / 100, lo: null, hi: null } },
    approvals: approved ? [{ approver: 'risk-ann', decision: 'approve', at, comment: 'looks good' }] : [],
    registeredBy: `run:churn-run-${n}`,
  };
}

beforeAll(async () => {
  ({ config, env } = await testConfig());
  const rolesFile = join(config.home, 'roles.json');
  await writeFile(rolesFile, JSON.stringify({ roles: { promoter: ['grace'], risk: ['risk-ann'] } }));
  env = { ...env, SLUICE_ROLES_FILE: rolesFile };
  worker = await testWorker(config);
  await withDuckDB((db) =>
    db.run(
      `COPY (SELECT * FROM read_parquet('${join(dataDir, 'flights-3m.parquet')}') ORDER BY md5(date::VARCHAR || origin || destination) LIMIT 2000) TO '${join(config.home, 'flights.parquet')}' (FORMAT parquet)`,
    ),
  );
  client = new Client({ connection: await Connection.connect({ address: config.temporal.address }) });
  target = registryTarget(config);
});

afterAll(async () => {
  await client?.connection.close();
  await worker?.shutdown();
});

async function refusal(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

describe('the model registry on a real Temporal server', () => {
  it('registers versions with lineage; a repeated request returns the same version', async () => {
    const model = name('churn');
    expect(await registerModelVersion(client, target, model, lineage(1, true))).toEqual({
      version: 1,
      created: true,
    });
    expect(await registerModelVersion(client, target, model, lineage(1, true))).toEqual({
      version: 1,
      created: false,
    });
    expect(await registerModelVersion(client, target, model, lineage(2))).toEqual({
      version: 2,
      created: true,
    });

    const described = await describeModel(client, model);
    expect(described.aliases).toEqual({ candidate: 2, production: null, previous: null });
    expect(described.versions).toHaveLength(2);
    expect(described.versions[0]).toMatchObject({
      version: 1,
      runId: 'run-id-1',
      pipeline: 'churn',
      dataSha256s: [sha(1001)],
      model: { sha256: sha(1) },
      approvals: [{ approver: 'risk-ann', decision: 'approve' }],
    });

    const conflict = await refusal(
      registerModelVersion(client, target, model, {
        ...lineage(2),
        model: { ...lineage(2).model, sha256: sha(7) },
      }),
    );
    expect(conflict).toBeInstanceOf(InvalidInputError);
    expect(conflict.message).toMatch(
      /^request run-\w+-2\/register already registered model "churn-\w+" v2 with model/,
    );

    const description = await client.workflow.getHandle(`registry/${model}`).describe();
    expect(description.typedSearchAttributes.get({ name: 'SluiceModel', type: 'KEYWORD' } as never)).toBe(
      model,
    );
  });

  it('promotes via an approved run and by a promoter, rolls back, and refuses (recording) what is not allowed', async () => {
    const model = name('fraud');
    await registerModelVersion(client, target, model, lineage(1, true));
    await registerModelVersion(client, target, model, lineage(2));

    const first = await promoteModel(client, model, {
      version: 1,
      by: 'deploy-bot',
      reason: 'approved by risk',
      authorisedBy: 'approved-run',
      approvedRun: lineage(1).workflowId,
    });
    expect(first).toEqual({
      outcome: 'promoted',
      version: 1,
      aliases: { candidate: 2, production: 1, previous: null },
    });

    const unapproved = await refusal(
      promoteModel(client, model, {
        version: 2,
        by: 'deploy-bot',
        reason: 'ship it',
        authorisedBy: 'approved-run',
      }),
    );
    expect(unapproved).toBeInstanceOf(RegistryRefusedError);
    expect(unapproved.message).toBe(
      `deploy-bot cannot promote model "${model}" v2 without approval: its run ${lineage(2).workflowId} has no approve decision; get the run approved, or have a holder of role promoter promote it`,
    );
    const outsider = await refusal(
      promoteModel(client, model, {
        version: 2,
        by: 'mallory',
        reason: 'trust me',
        authorisedBy: 'role:promoter',
        roleMembers: ['grace'],
      }),
    );
    expect(outsider.message).toBe(
      `mallory cannot promote model "${model}" v2: mallory does not hold role promoter (held by grace); ask one of them, or add mallory to "promoter" in the roles file`,
    );
    const unknown = await refusal(promoteModel(client, model, { version: 9, reason: 'typo', ...grace }));
    expect(unknown.message).toMatch(
      /^grace cannot promote model "fraud-\w+" v9: there is no such version \(versions 1-2\)/,
    );

    // Malformed: refused at once by the validator, so not in the log.
    const malformed = await refusal(promoteModel(client, model, { version: 2, reason: '', ...grace }));
    expect(malformed).toBeInstanceOf(InvalidInputError);
    expect(malformed.message).toBe(`grace must give a reason to promote model "${model}"`);

    const second = await promoteModel(client, model, { version: 2, reason: 'auc +0.01', ...grace });
    expect(second.aliases).toEqual({ candidate: null, production: 2, previous: 1 });
    expect(await promoteModel(client, model, { version: 2, reason: 'retry', ...grace })).toMatchObject({
      outcome: 'unchanged',
    });

    const back = await rollbackModel(client, model, { reason: 'latency regression', ...grace });
    expect(back).toEqual({
      from: 2,
      version: 1,
      aliases: { candidate: null, production: 1, previous: null },
    });
    const nothing = await refusal(rollbackModel(client, model, { reason: 'again', ...grace }));
    expect(nothing.message).toBe(
      `grace cannot roll back model "${model}": it has no previous production version (only v1 has been in production); promote a version instead`,
    );

    const history = await modelHistory(client, model);
    expect(history.map(summarise)).toEqual([
      'registered v1 by run:churn-run-1',
      'registered v2 by run:churn-run-2',
      'promoted v1 by deploy-bot (approved-run): approved by risk',
      'refused promote v2 by deploy-bot (approved-run): ship it',
      'refused promote v2 by mallory (role:promoter): trust me',
      'refused promote v9 by grace (role:promoter): typo',
      'promoted v2 by grace (role:promoter): auc +0.01',
      'rolled-back v1 by grace (role:promoter): latency regression',
      'refused rollback v1 by grace (role:promoter): again',
    ]);
    expect(history.every((e) => typeof e.at === 'string' && !Number.isNaN(Date.parse(e.at)))).toBe(true);
    expect(history.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('continues as new under a low history bound and keeps every version, alias and event', async () => {
    const model = name('ctr');
    const low: RegistryTarget = { ...target, maxHistoryEvents: 25 };
    const handle = client.workflow.getHandle(`registry/${model}`);
    await registerModelVersion(client, low, model, lineage(1, true));
    const firstRun = (await handle.describe()).runId;
    for (let n = 2; n <= 8; n++) await registerModelVersion(client, low, model, lineage(n));
    await promoteModel(client, model, {
      version: 1,
      by: 'bot',
      reason: 'approved',
      authorisedBy: 'approved-run',
    });
    await promoteModel(client, model, { version: 8, reason: 'newest', ...grace });
    // A retried registration after continue-as-new is still idempotent.
    expect(await registerModelVersion(client, low, model, lineage(3))).toEqual({
      version: 3,
      created: false,
    });

    const now = await handle.describe();
    expect(now.runId).not.toBe(firstRun);
    expect(now.status.name).toBe('RUNNING');
    expect(now.typedSearchAttributes.get({ name: 'SluiceModel', type: 'KEYWORD' } as never)).toBe(model);
    const described = await describeModel(client, model);
    expect(described.versions.map((v) => v.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(described.aliases).toEqual({ candidate: null, production: 8, previous: 1 });
    expect((await modelHistory(client, model)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

    const first = await client.workflow.getHandle(`registry/${model}`, firstRun).describe();
    expect(first.status.name).toBe('CONTINUED_AS_NEW');
  });

  it('loses no registration sent concurrently while the registry continues as new', async () => {
    const model = name('burst');
    const low: RegistryTarget = { ...target, maxHistoryEvents: 15 };
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => registerModelVersion(client, low, model, lineage(i + 1))),
    );
    expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
    const described = await describeModel(client, model);
    expect(described.versions).toHaveLength(12);
    expect(new Set(described.versions.map((v) => v.requestId)).size).toBe(12);
    const now = await client.workflow.getHandle(`registry/${model}`).describe();
    expect(now.runId).not.toBe(now.raw.workflowExecutionInfo?.firstRunId); // it did continue as new
  });

  it('answers for a model that does not exist in one line', async () => {
    const missing = await refusal(describeModel(client, name('nope')));
    expect(missing.message).toBe(
      `no model "${name('nope')}" in the registry: list models with \`sluice models\`, or register a version first`,
    );
  });
});

async function eventually<T>(probe: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < 100; i++) {
    last = await probe();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} never happened; last seen: ${JSON.stringify(last)}`);
}

function summarise(event: RegistryEvent): string {
  switch (event.type) {
    case 'registered':
      return `registered v${event.version} by ${event.by.replace(`-${suffix}`, '')}`;
    case 'promoted':
    case 'rolled-back':
      return `${event.type} v${event.version} by ${event.by} (${event.authorisedBy}): ${event.reason}`;
    case 'traffic':
      return `traffic v${event.version} ${event.canaryPercent}% by ${event.by} (${event.authorisedBy}): ${event.reason}`;
    case 'refused':
      return `refused ${event.action} v${event.version} by ${event.by} (${event.authorisedBy}): ${event.reason}`;
  }
}

describe('a pipeline registers its model through the registerModel step', () => {
  it('train → approve → registerModel: the version carries the run, data hash, model hash and approvals', async () => {
    const model = name('flight-delay');
    const spec = definePipeline({
      id: 'registry-flow',
      owner: 'olivia',
      steps: [
        {
          id: 'train',
          activity: 'trainModel',
          queue: 'train',
          params: {
            source: join(config.home, 'flights.parquet'),
            features: { numeric: ['distance'] },
            label: { sql: 'delay > 15', task: 'binary' },
            split: { kind: 'hash', key: 'date::VARCHAR || origin', seed: 1, test: 0.25 },
            trainer: { model: 'logistic', epochs: 2 },
          },
        },
        { id: 'approve', needs: ['train'], approval: { approvers: ['role:risk'] } },
        { id: 'register', activity: 'registerModel', needs: ['train', 'approve'], params: { model } },
      ],
    });
    const handle = await startRun(client, config, spec, { runParams: {}, startedBy: 'carol' });
    const gate = await eventually(
      async () =>
        (await handle.query<DagStatus>('status').catch(() => undefined))?.approvals.find(
          (g: ApprovalGateStatus) => g.state === 'awaiting',
        ),
      (g) => g !== undefined,
      'the approval gate opening',
    );
    await handle.executeUpdate('submitApproval', {
      args: [{ approver: 'risk-ann', decision: 'approve', modelVersion: gate!.modelVersion, comment: 'ok' }],
    });
    const status = await followRun(handle, () => undefined);
    expect(status.state).toBe('succeeded');
    const trained = status.steps.find((s) => s.id === 'train')!.output as { model: { sha256: string } };
    const registered = status.steps.find((s) => s.id === 'register')!
      .output as unknown as RegisterModelOutput;
    expect(registered).toMatchObject({ model, version: 1, created: true, approvals: 1 });
    expect(registered.modelRef.sha256).toBe(trained.model.sha256);

    const [version] = (await describeModel(client, model)).versions;
    expect(version).toMatchObject({
      version: 1,
      workflowId: handle.workflowId,
      pipeline: 'registry-flow',
      registeredBy: `run:${handle.workflowId}`,
      model: { sha256: trained.model.sha256, kind: 'model' },
      approvals: [
        { approver: 'risk-ann', decision: 'approve', comment: 'ok', modelVersion: gate!.modelVersion },
      ],
    });
    expect(version!.dataSha256s).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/)]);
    expect(version!.metrics).toHaveProperty('validationLoss');

    // The run's approval is what lets the version into production.
    const promoted = await promoteModel(client, model, {
      version: 1,
      by: 'deploy-bot',
      reason: 'approved run',
      authorisedBy: 'approved-run',
      approvedRun: handle.workflowId,
    });
    expect(promoted.aliases.production).toBe(1);
  });
});

describe('sluice models / promote / rollback against the server', () => {
  it('lists, promotes, rolls back, and refuses in one line naming the model, version, person and fix', async () => {
    const model = name('cli');
    await registerModelVersion(client, target, model, lineage(1, true));
    await registerModelVersion(client, target, model, lineage(2));

    const approved = await sluice(
      [
        'promote',
        model,
        '1',
        '--as',
        'ann',
        '--reason',
        'risk signed off',
        '--approved-run',
        lineage(1).workflowId,
      ],
      env,
    );
    expect(approved.stderr).toBe('');
    expect(approved.stdout).toBe(
      `model ${model} v1 is in production (previous: -), promoted by ann as approved-run\n`,
    );

    const denied = await sluice(['promote', model, '2', '--as', 'mallory', '--reason', 'trust me'], env);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toBe(
      `sluice: mallory cannot promote model "${model}" v2: mallory does not hold role promoter (held by grace); ask one of them, or add mallory to "promoter" in the roles file\n`,
    );
    const unapproved = await sluice(
      ['promote', model, '2', '--as', 'ann', '--reason', 'x', '--approved-run', lineage(2).workflowId],
      env,
    );
    expect(unapproved.code).toBe(1);
    expect(unapproved.stderr).toMatch(
      /^sluice: ann cannot promote model "cli-\w+" v2 without approval: .*\n$/,
    );
    expect(unapproved.stderr.split('\n')).toHaveLength(2);

    const promoted = await sluice(
      ['promote', model, 'v2', '--as', 'grace', '--reason', 'auc +0.01', '--json'],
      env,
    );
    expect(promoted.code).toBe(0);
    expect(JSON.parse(promoted.stdout)).toMatchObject({
      model,
      outcome: 'promoted',
      version: 2,
      aliases: { production: 2, previous: 1, candidate: null },
    });

    const badVersion = await sluice(['promote', model, 'latest', '--as', 'grace', '--reason', 'x'], env);
    expect(badVersion.stderr).toBe(
      `sluice: version "latest" of model ${model} is not a version number: give a whole number from 1, e.g. \`sluice promote ${model} 3 --as <you> --reason "<why>"\`\n`,
    );

    const back = await sluice(['rollback', model, '--as', 'grace', '--reason', 'latency'], env);
    expect(back.stdout).toBe(`model ${model} rolled back from v2 to v1 by grace (previous: -)\n`);
    const again = await sluice(['rollback', model, '--as', 'grace', '--reason', 'again'], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      `sluice: grace cannot roll back model "${model}": it has no previous production version (only v1 has been in production); promote a version instead\n`,
    );

    const one = await sluice(['models', model, '--history'], env);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(
      new RegExp(
        `^model ${model}: 2 version\\(s\\); production v1, candidate -, previous -; traffic: production answers everything\n`,
      ),
    );
    expect(one.stdout).toMatch(
      new RegExp(
        `v1\\s+production\\s+${sha(1).slice(0, 12)}\\s+churn-run-\\w+-1\\s+approved \\(risk-ann\\)\\s+auc=0\\.71`,
      ),
    );
    expect(one.stdout).toContain(`REFUSED promote v2 by mallory: mallory cannot promote model "${model}" v2`);
    expect(one.stdout).toMatch(/rolled back v2 to v1 by grace as role:promoter: latency/);

    const listed = await eventually(
      async () => JSON.parse((await sluice(['models', '--json'], env)).stdout) as { models: ModelSummary[] },
      (doc) => doc.models.some((m) => m.model === model && m.aliases.production === 1 && m.versions === 2),
      'the model listed with its aliases',
    );
    expect(listed.models.find((m) => m.model === model)).toMatchObject({
      workflowId: `registry/${model}`,
      aliases: { production: 1, candidate: null, previous: null },
    });
    const human = await sluice(['models'], env);
    expect(human.stdout).toMatch(new RegExp(`${model}\\s+2\\s+v1\\s+-\\s+-`));

    const missing = await sluice(['models', name('missing')], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      `sluice: no model "${name('missing')}" in the registry: list models with \`sluice models\`, or register a version first\n`,
    );
  });
});
