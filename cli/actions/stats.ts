import type { Command } from 'commander';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import { refFromSha, resolveDataset } from '../../activities/data-inputs.js';
import { storeStatistics } from '../../activities/data-steps.js';
import { statisticsMarkdown } from '../../activities/statistics/render-markdown.js';
import type { DatasetStatistics } from '../../pipelines/statistics.js';
import { context } from '../commands/shared.js';

/** `sluice stats <dataset>`: compute, store and print statistics (or show stored ones by sha256). */
export async function statsAction(target: string, command: Command): Promise<void> {
  const { config, out } = context(command);
  const store = createArtifactStore(config.home, config.artifacts);
  // A stored statistics artifact is shown as it is; anything else is a dataset to compute them for.
  if (/^[0-9a-f]{64}$/.test(target)) {
    const ref = await refFromSha(store, target);
    if (ref.kind === 'statistics') {
      const statistics = (await store.readJson(ref)) as unknown as DatasetStatistics;
      out.result({ statistics, artifacts: { statistics: ref } }, () => statisticsMarkdown(statistics));
      return;
    }
  }
  const data = await resolveDataset(target, {
    store,
    dataRoots: config.dataRoots,
    what: 'sluice stats <dataset>',
  });
  const { statistics, ref, output } = await storeStatistics(store, data);
  const reports = output['report'] as { html: { sha256: string } };
  const paths = {
    statistics: await store.open(ref),
    html: await store.open(await refFromSha(store, reports.html.sha256)),
  };
  out.result({ statistics, artifacts: output, paths }, () =>
    [
      statisticsMarkdown(statistics).trimEnd(),
      '',
      `statistics ${ref.sha256} (${paths.statistics})`,
      `HTML report ${paths.html}`,
    ].join('\n'),
  );
}
