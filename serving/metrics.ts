import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The server's Prometheus metrics, on a registry of its own (not prom-client's global one) so two
 * servers in one process — the bench runs a bare one beside the real one — never collide.
 * Labelled by model and version: a canary is judged against production on exactly these series.
 */
export interface ServingMetrics {
  registry: Registry;
  requests: Counter<'model' | 'version' | 'role'>;
  errors: Counter<'model' | 'version' | 'code'>;
  latency: Histogram<'model' | 'version'>;
  loaded: Gauge<'model' | 'version' | 'alias'>;
  loadFailures: Counter<'model' | 'version' | 'reason'>;
  logWritten: Counter<'model'>;
  logDropped: Counter<'model' | 'reason'>;
}

/** Build the metrics; `defaults` adds Node process metrics (off in tests and benches). */
export function createServingMetrics(defaults = true): ServingMetrics {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry, prefix: 'sluice_serve_' });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: 'sluice_predict_requests_total',
      help: 'Predict requests answered, by model, version and role (production, canary, shadow)',
      labelNames: ['model', 'version', 'role'],
      registers,
    }),
    errors: new Counter({
      name: 'sluice_predict_errors_total',
      help: 'Predict requests refused or failed, by model, version (none when not chosen) and error code',
      labelNames: ['model', 'version', 'code'],
      registers,
    }),
    latency: new Histogram({
      name: 'sluice_predict_latency_seconds',
      help: 'Time to validate, transform and score one predict request, by model version',
      labelNames: ['model', 'version'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    loaded: new Gauge({
      name: 'sluice_model_loaded',
      help: '1 for each model version loaded and the alias it serves as',
      labelNames: ['model', 'version', 'alias'],
      registers,
    }),
    loadFailures: new Counter({
      name: 'sluice_model_load_failures_total',
      help: 'Model versions refused at load time (integrity: bytes do not match the registered sha256)',
      labelNames: ['model', 'version', 'reason'],
      registers,
    }),
    logWritten: new Counter({
      name: 'sluice_prediction_log_rows_written_total',
      help: 'Prediction log rows written to Parquet',
      labelNames: ['model'],
      registers,
    }),
    logDropped: new Counter({
      name: 'sluice_prediction_log_rows_dropped_total',
      help: 'Prediction log rows lost: buffer full or a failed write (disk full); serving kept answering',
      labelNames: ['model', 'reason'],
      registers,
    }),
  };
}

/** A model version's request counters (one per role) and latency histogram, labels built once. */
export interface VersionSeries {
  requests: Record<'production' | 'canary' | 'pinned' | 'shadow', { inc(): void }>;
  latency: { observe(seconds: number): void };
}

/** The series of each loaded version, with its label objects built once per version, not per request. */
export function versionSeries(
  metrics: ServingMetrics,
): (model: { model: string; version: number }) => VersionSeries {
  const cache = new WeakMap<object, VersionSeries>();
  return (loaded) => {
    let series = cache.get(loaded);
    if (!series) {
      const model = loaded.model;
      const version = String(loaded.version);
      const role = (r: string) => {
        const labels = { model, version, role: r };
        return { inc: () => metrics.requests.inc(labels) };
      };
      const versionLabels = { model, version };
      series = {
        requests: {
          production: role('production'),
          canary: role('canary'),
          pinned: role('pinned'),
          shadow: role('shadow'),
        },
        latency: { observe: (seconds) => metrics.latency.observe(versionLabels, seconds) },
      };
      cache.set(loaded, series);
    }
    return series;
  };
}
