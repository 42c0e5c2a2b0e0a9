import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import { readModelManifest } from '../../lib/model/model-artifact.js';
import type { TrainModelOutput } from '../../activities/train/train-model.js';
import { describeModel, promoteModel } from '../../client/registry.js';
import { followRun, startRun } from '../../client/runs.js';
import type { ApprovalGateStatus } from '../../pipelines/approval.js';
import type { ModelRef } from '../../pipelines/model.js';
import type { DagStatus } from '../../workflows/index.js';
import type { ServingServer } from '../../serving/server.js';
import { useTestWorker } from '../support/worker.js';
import { flightsLifecycle, lifecycleRoles } from './fixtures/lifecycle.js';
import { flightRows, startTestServer } from './fixtures/serving.js';

const t = useTestWorker(async (config) =>
  writeFile(join(config.home, 'roles.json'), JSON.stringify({ roles: lifecycleRoles })),
);
const servers: ServingServer[] = [];

afterAll(async () => {
  for (const s of servers) await s.close();
});

describe('gradient-boosted trees through the lifecycle on a real Temporal server', () => {
  it('searches GBDT params, evaluates, signs off, registers and serves the forest without TF.js', async () => {
    const model = 'delay-gbdt';
    const spec = flightsLifecycle('gbdt-lifecycle', {
      model,
      train: { model: 'gbdt', rounds: 30, minDataPerCategory: 20, checkpointEvery: 5, seed: 1 },
      search: { strategy: 'grid', space: { numLeaves: [7, 15] }, trials: 2, maxParallel: 2 },
      evaluate: { bless: { auc: { min: 0.55 } } },
    });
    const handle = await startRun(t.client, t.config, spec, { runParams: {}, startedBy: 'dana' });
    let gate: ApprovalGateStatus | undefined;
    for (let i = 0; i < 900 && !gate; i++) {
      const status = await handle.query<DagStatus>('status').catch(() => undefined);
      gate = status?.approvals.find((g) => g.state === 'awaiting');
      if (status && status.state !== 'running')
        throw new Error(`run ended ${status.state} before its gate: ${JSON.stringify(status.steps)}`);
      if (!gate) await new Promise((r) => setTimeout(r, 200));
    }
    expect(gate?.subject).toMatchObject({ blessing: { blessed: true } });
    await handle.executeUpdate('submitApproval', {
      args: [{ approver: 'rita', decision: 'approve', modelVersion: gate!.modelVersion }],
    });
    const status = await followRun(handle, () => undefined);
    expect(status.state).toBe('succeeded');
    const trained = status.steps.find((s) => s.id === 'train')?.output as unknown as TrainModelOutput;
    expect(trained.engine).toBe('gbdt');
    expect([7, 15]).toContain(trained.hyperparameters['numLeaves']);

    const registered = await describeModel(t.client, model);
    const version = registered.versions[0]!;
    const manifest = await readModelManifest(createArtifactStore(t.config.home), {
      ...version.model,
      kind: 'model',
    } as ModelRef);
    expect(manifest.tfjs).toBeUndefined();
    expect(manifest.metadata.trees?.trees).toBeGreaterThan(0);

    await promoteModel(t.client, model, {
      version: 1,
      by: 'dana',
      reason: 'first trees',
      authorisedBy: 'approved-run',
      approvedRun: handle.workflowId,
    });
    const { server, url } = await startTestServer(t.client, t.config, [{ model }]);
    servers.push(server);
    const rows = await flightRows(20);
    const response = await fetch(`${url}/v1/models/${model}:predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: rows }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      version: number;
      predictions: { label: string; probabilities: Record<string, number> }[];
    };
    expect(body.version).toBe(1);
    expect(body.predictions).toHaveLength(20);
    const late = body.predictions.map((p) => p.probabilities['1'] ?? -1);
    for (const p of late) {
      expect(p).toBeGreaterThan(0);
      expect(p).toBeLessThan(1);
    }
    expect(new Set(late.map((p) => p.toFixed(6))).size).toBeGreaterThan(1);
  });
});
