import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';

/**
 * The server's Prometheus metrics, on a registry of its own (not prom-client's global one) so two
 * servers in one process — the bench runs a bare one beside the real one — never collide.
 * Labelled by model and version: a canary is judged against production on exactly these series.
 */
export interface ServingMetrics {
  registry: Registry;
  requests: Counter<'model' | 'version' | 'role'>;
  /** A request counter for one label set: a plain addition per request, added to `requests` when read. */
  countRequests(labels: Record<'model' | 'version' | 'role', string>): { inc(): void };
  errors: Counter<'model' | 'version' | 'code'>;
  latency: LatencyHistogram;
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
  const unread = new Map<string, { labels: Record<'model' | 'version' | 'role', string>; n: number }>();
  return {
    registry,
    requests: new Counter({
      name: 'sluice_predict_requests_total',
      help: 'Predict requests answered, by model, version and role (production, canary, shadow)',
      labelNames: ['model', 'version', 'role'],
      registers,
      collect() {
        for (const c of unread.values()) {
          if (c.n > 0) this.inc(c.labels, c.n);
          c.n = 0;
        }
      },
    }),
    countRequests: (labels) => {
      const key = JSON.stringify(labels);
      const c = unread.get(key) ?? { labels, n: 0 };
      unread.set(key, c);
      return {
        inc: () => {
          c.n++;
        },
      };
    },
    errors: new Counter({
      name: 'sluice_predict_errors_total',
      help: 'Predict requests refused or failed, by model, version (none when not chosen) and error code',
      labelNames: ['model', 'version', 'code'],
      registers,
    }),
    // Registered here so /metrics lists the families in the order it always did.
    latency: registered(
      registry,
      new LatencyHistogram(
        'sluice_predict_latency_seconds',
        'Time to validate, transform and score one predict request, by model version',
        [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      ),
    ),
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

function registered(registry: Registry, histogram: LatencyHistogram): LatencyHistogram {
  registry.registerMetric(histogram as unknown as Metric);
  return histogram;
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
      const role = (r: string) => metrics.countRequests({ model, version, role: r });
      series = {
        requests: {
          production: role('production'),
          canary: role('canary'),
          pinned: role('pinned'),
          shadow: role('shadow'),
        },
        latency: metrics.latency.series({ model, version }),
      };
      cache.set(loaded, series);
    }
    return series;
  };
}

interface HistogramSeries {
  labels: Record<string, string>;
  /** Observations per bucket (not cumulative); the last is above every bound (+Inf). */
  counts: number[];
  sum: number;
  count: number;
}

/**
 * `sluice_predict_latency_seconds`: a Prometheus histogram by model version, read by the registry
 * as prom-client's own `Histogram` is (the same lines in `/metrics`), whose `observe` is a bucket
 * search and three additions. prom-client's checks and hashes the label object on every observation
 * (~1–2 µs, as much as reading a request's instances); here the labels are fixed per version.
 */
export class LatencyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly all = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly upperBounds: readonly number[],
  ) {}

  /** The observer of one label set; its series appears in `/metrics` from its first observation. */
  series(labels: Record<string, string>): { observe(seconds: number): void } {
    const key = JSON.stringify(labels);
    const bounds = this.upperBounds;
    return {
      observe: (seconds) => {
        if (!Number.isFinite(seconds)) return;
        let s = this.all.get(key);
        if (!s) {
          s = { labels, counts: new Array<number>(bounds.length + 1).fill(0), sum: 0, count: 0 };
          this.all.set(key, s);
        }
        let i = 0;
        while (i < bounds.length && seconds > (bounds[i] as number)) i++;
        (s.counts[i] as number)++;
        s.sum += seconds;
        s.count++;
      },
    };
  }

  /** What the registry prints: per series, the cumulative buckets, +Inf, `_sum` and `_count`. */
  getForPromString(): {
    name: string;
    help: string;
    type: 'histogram';
    aggregator: 'sum';
    values: {
      labels: Record<string, string | number>;
      sharedLabels: Record<string, string>;
      value: number;
      metricName: string;
    }[];
  } {
    const values = [...this.all.values()].flatMap((s) => {
      let acc = 0;
      const bucket = `${this.name}_bucket`;
      return [
        ...this.upperBounds.map((le, i) => {
          acc += s.counts[i] as number;
          return { labels: { le }, sharedLabels: s.labels, value: acc, metricName: bucket };
        }),
        { labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: bucket },
        { labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` },
        { labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` },
      ];
    });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** The JSON form (`registry.getMetricsAsJSON()`): each value's labels in one object. */
  get(): ReturnType<LatencyHistogram['getForPromString']> {
    const data = this.getForPromString();
    return {
      ...data,
      values: data.values.map((v) => ({
        ...v,
        labels: { ...v.labels, ...v.sharedLabels },
        sharedLabels: {},
      })),
    };
  }

  reset(): void {
    this.all.clear();
  }
}
