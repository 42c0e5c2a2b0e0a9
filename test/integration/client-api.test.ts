import { describe, expect, it } from 'vitest';
// The package root, as a user's script imports it (self-reference through package.json `exports`).
import { createClient, InvalidInputError, type SluiceClient } from 'sluice';
import { firstDag } from '../../pipelines/first-dag.pipeline.js';
import { useTestWorker } from '../support/worker.js';

const t = useTestWorker();

describe("createClient(): the CLI's control plane, callable from a script", () => {
  it('runs a pipeline, follows it, and finds it again through status and runs', async () => {
    const sluice: SluiceClient = await createClient({ config: t.config });
    try {
      const run = await sluice.run(firstDag, {}, { startedBy: 'notebook' });
      const seen: string[] = [];
      const status = await run.result((step) => seen.push(`${step.id}:${step.state}`));
      expect(status.state).toBe('succeeded');
      expect(seen).toContain('summarize:succeeded');

      const report = await sluice.status(run.runId);
      expect(report.temporalState).toBe('COMPLETED');
      expect(report.status?.startedBy).toBe('notebook');
      expect(report.status?.steps.map((s) => s.state)).toEqual(['succeeded', 'succeeded']);

      // Visibility lags writes slightly: poll until the run is listed under its pipeline.
      let listed = false;
      for (let i = 0; i < 50 && !listed; i++) {
        const runs = await sluice.runs({ pipeline: 'first-dag', limit: 50 });
        listed = runs.some((r) => r.workflowId === run.runId && r.status === 'COMPLETED');
        if (!listed) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(listed).toBe(true);
    } finally {
      await sluice.close();
    }
  });

  it('refuses bad input with the same errors as the CLI', async () => {
    const sluice = await createClient({ config: t.config });
    try {
      await expect(sluice.run(firstDag, { nope: 1 })).rejects.toThrow(InvalidInputError);
      await expect(sluice.run(firstDag, { nope: 1 })).rejects.toThrow(/has no parameter "nope"/);
      await expect(sluice.status('no-such-run-anywhere')).rejects.toThrow(/no-such-run-anywhere/);
      await expect(sluice.approve('no-such-run-anywhere', { as: 'ann' })).rejects.toThrow(
        /no-such-run-anywhere/,
      );
    } finally {
      await sluice.close();
    }
  });
});
