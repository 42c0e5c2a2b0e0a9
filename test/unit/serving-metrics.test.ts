import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createServingMetrics, versionSeries } from '../../serving/metrics.js';

/** The same requests counted by prom-client's own Counter and Histogram, as /metrics showed them before. */
async function promClientText(observations: [string, number, string, number][]): Promise<string> {
  const registry = new Registry();
  const requests = new Counter({
    name: 'sluice_predict_requests_total',
    help: 'Predict requests answered, by model, version and role (production, canary, shadow)',
    labelNames: ['model', 'version', 'role'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'sluice_predict_latency_seconds',
    help: 'Time to validate, transform and score one predict request, by model version',
    labelNames: ['model', 'version'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  for (const [model, version, role, seconds] of observations) {
    requests.inc({ model, version: String(version), role });
    latency.observe({ model, version: String(version) }, seconds);
  }
  return registry.metrics();
}

/** Only the lines of the two series these tests count. */
const lines = (text: string) =>
  text.split('\n').filter((l) => /^sluice_predict_(requests_total|latency_seconds)/.test(l));

describe('predict metrics', () => {
  it('/metrics shows the request counts and latency histogram prom-client showed, line for line', async () => {
    const observations: [string, number, string, number][] = [
      ['delay', 1, 'production', 0.0004],
      ['delay', 1, 'production', 0.0005],
      ['delay', 1, 'production', 0.003],
      ['delay', 2, 'canary', 0.2],
      ['delay', 2, 'canary', 7],
      ['delay', 1, 'production', 0.0011],
      ['other "m"', 3, 'pinned', 0.04],
    ];
    const metrics = createServingMetrics(false);
    const seriesOf = versionSeries(metrics);
    const versions = new Map<string, { model: string; version: number }>();
    for (const [model, version, role, seconds] of observations) {
      const key = `${model}/${version}`;
      const loaded = versions.get(key) ?? { model, version };
      versions.set(key, loaded);
      const series = seriesOf(loaded);
      series.requests[role as 'production' | 'canary' | 'pinned'].inc();
      series.latency.observe(seconds);
    }
    const ours = lines(await metrics.registry.metrics());
    expect(ours).toEqual(lines(await promClientText(observations)));
    expect(ours).toContain('sluice_predict_requests_total{model="delay",version="1",role="production"} 4');
    // Read again: nothing is counted twice.
    expect(lines(await metrics.registry.metrics())).toEqual(ours);
    const json = await metrics.registry.getMetricsAsJSON();
    const latency = json.find((m) => m.name === 'sluice_predict_latency_seconds');
    expect(latency?.values).toContainEqual(
      expect.objectContaining({ labels: { le: '+Inf', model: 'delay', version: '2' }, value: 2 }),
    );
  });

  it('a version loaded again counts into the same series', async () => {
    const metrics = createServingMetrics(false);
    const seriesOf = versionSeries(metrics);
    for (const loaded of [
      { model: 'delay', version: 1 },
      { model: 'delay', version: 1 },
    ]) {
      seriesOf(loaded).requests.production.inc();
      seriesOf(loaded).latency.observe(0.002);
    }
    const text = lines(await metrics.registry.metrics());
    expect(text).toContain('sluice_predict_requests_total{model="delay",version="1",role="production"} 2');
    expect(text).toContain('sluice_predict_latency_seconds_count{model="delay",version="1"} 2');
  });
});
