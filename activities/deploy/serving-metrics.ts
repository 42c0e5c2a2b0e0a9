import type { ServingSnapshot, VersionSeries } from '../../pipelines/deploy-rules.js';
import { DependencyUnavailableError } from '../../pipelines/errors.js';

/** Which replicas to scrape, for which model. */
export interface SnapshotRequest {
  urls: string[];
  model: string;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/**
 * Read the serving replicas' Prometheus `/metrics` and sum, per version of `model`, the requests
 * answered, the requests refused or failed, and the latency histogram. The deploy workflow takes one
 * snapshot as the window opens and one as it closes; their difference is the window's traffic.
 *
 * @throws DependencyUnavailableError (retryable) when a replica does not answer: the window's numbers
 * would be incomplete, so the activity is retried rather than deciding on half the fleet.
 */
export async function snapshotServingMetrics(request: SnapshotRequest): Promise<ServingSnapshot> {
  const versions: Record<string, VersionSeries> = {};
  const series = (version: string): VersionSeries =>
    (versions[version] ??= { requests: 0, errors: 0, buckets: [], count: 0 });
  for (const url of request.urls) {
    let text: string;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      text = await response.text();
    } catch (error) {
      throw new DependencyUnavailableError(
        `serving metrics at ${url} did not answer (${(error as Error).message}): is \`sluice serve\` running there? Fix deploy.metricsUrls otherwise`,
        { cause: error, details: { url } },
      );
    }
    for (const line of text.split('\n')) {
      const match = SAMPLE.exec(line);
      if (!match) continue;
      const [, name, labelText, valueText] = match;
      const labels = Object.fromEntries(
        [...(labelText ?? '').matchAll(LABEL)].map((m) => [m[1] ?? '', m[2] ?? '']),
      );
      const version = labels['version'];
      if (labels['model'] !== request.model || version === undefined || !/^\d+$/.test(version)) continue;
      const value = Number(valueText);
      if (!Number.isFinite(value)) continue;
      const s = series(version);
      if (name === 'sluice_predict_requests_total') s.requests += value;
      else if (name === 'sluice_predict_errors_total') s.errors += value;
      else if (name === 'sluice_predict_latency_seconds_count') s.count += value;
      else if (name === 'sluice_predict_latency_seconds_bucket' && labels['le'] !== '+Inf') {
        const le = Number(labels['le']);
        const bucket = s.buckets.find((b) => b.le === le);
        if (bucket) bucket.count += value;
        else s.buckets.push({ le, count: value });
      }
    }
  }
  for (const s of Object.values(versions)) s.buckets.sort((a, b) => a.le - b.le);
  return { versions };
}
