import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CardImportance } from '../../activities/model-card/importance-words.js';
import type { ModelCardOutput } from '../../activities/model-card/render-model-card.js';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import { promoteModel } from '../../client/registry.js';
import { followRun, startRun } from '../../client/runs.js';
import type { ApprovalGateStatus } from '../../pipelines/approval.js';
import type { JsonObject } from '../../pipelines/json.js';
import type { DagStatus } from '../../workflows/index.js';
import type { ExplanationsBody } from '../../serving/explain.js';
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

/** P(delay) from a served prediction: a bare probability, or `{ probabilities: { '1': p } }`. */
function positive(p: unknown): number {
  if (typeof p === 'number') return p;
  const probabilities = (p as { probabilities?: Record<string, number> }).probabilities ?? {};
  return probabilities['1'] ?? probabilities['true'] ?? NaN;
}

describe('explanations on a real Temporal server', () => {
  it('trains a GBDT through the lifecycle, shows what drives it on the card, and serves ?explain=true', async () => {
    const model = 'delay-explained';
    const spec = flightsLifecycle('gbdt-explain', {
      model,
      train: { model: 'gbdt', rounds: 30, numLeaves: 15, minDataPerCategory: 20, seed: 1 },
      evaluate: { bless: { auc: { min: 0.55 } }, slices: [{ name: 'origin' }], maxGroups: 3 },
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
    await handle.executeUpdate('submitApproval', {
      args: [{ approver: 'rita', decision: 'approve', modelVersion: gate!.modelVersion }],
    });
    const status = await followRun(handle, () => undefined);
    expect(status.state).toBe('succeeded');

    // The card the approver read says what drives the model, overall and per origin airport.
    const card = status.steps.find((s) => s.id === 'card')?.output as unknown as ModelCardOutput;
    const store = createArtifactStore(t.config.home);
    const cardJson = (await store.readJson<JsonObject>(card.json)) as unknown as {
      importance: CardImportance;
    };
    const importance = cardJson.importance;
    if (!('sentence' in importance)) throw new Error(`no importance on the card: ${importance.unavailable}`);
    expect(importance.sentence).toMatch(
      /^Predictions of whether “delay > 15” are driven (mostly|most) by hour/,
    );
    expect(importance.global.map((f) => f.feature).sort()).toEqual(['distance', 'hour', 'origin']);
    expect(importance.slices).toHaveLength(3);
    const html = (await store.readBytes(card.html)).toString('utf8');
    expect(html).toContain('What drives the model');
    expect(html).toMatch(/origin = [A-Z]{3}<\/td>/);

    await promoteModel(t.client, model, {
      version: 1,
      by: 'dana',
      reason: 'explained trees',
      authorisedBy: 'approved-run',
      approvedRun: handle.workflowId,
    });
    const { server, url } = await startTestServer(t.client, t.config, [{ model }]);
    servers.push(server);
    const rows = await flightRows(25);
    const response = await fetch(`${url}/v1/models/${model}:predict?explain=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: rows }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { predictions: unknown[]; explanations: ExplanationsBody };
    expect(body.explanations.method).toBe('tree-shap');
    expect(body.explanations.space).toBe('log-odds');
    expect(body.explanations.instances).toHaveLength(rows.length);
    const base = body.explanations.baseValue as number;
    body.explanations.instances.forEach((instance, i) => {
      const contributions = instance.contributions as Record<string, number>;
      expect(Object.keys(contributions)).toEqual(['hour', 'distance', 'origin']);
      const margin = instance.margin as number;
      const sum = Object.values(contributions).reduce((a, b) => a + b, base);
      expect(Math.abs(sum - margin)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(margin)));
      expect(1 / (1 + Math.exp(-margin))).toBeCloseTo(positive(body.predictions[i]), 5);
    });
    // Rows at different hours get different hour contributions: the explanation follows the row.
    const hours = new Set(
      body.explanations.instances.map((e) => (e.contributions as Record<string, number>)['hour']!.toFixed(6)),
    );
    expect(hours.size).toBeGreaterThan(1);
  });
});
