import type { LoadedModel, Prediction } from '../lib/model/loaded-model.js';
import type { FeatureInputs } from '../lib/model/transform-online.js';

/** Most rows one scoring call takes (predictBatched's own batch); a larger queue is split. */
const maxBatchRows = 4_096;

interface Pending {
  rows: FeatureInputs[];
  resolve: (predictions: Prediction[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Scores the requests that arrive together in one call. A network TF.js scores (one that is not only
 * Dense layers: lib/model/dense-forward.ts) costs ~100 µs per `predict`
 * call whatever its size (kernel dispatch, tensor bookkeeping) against ~1 µs per extra row, so under
 * concurrent load the requests whose bodies were parsed in the same event-loop turn are queued and
 * scored as one matrix at the end of that turn (`setImmediate`), and each gets its own rows back. A
 * row's score does not depend on the rows scored beside it (batch evaluation scores thousands at a
 * time and serving answers the same numbers; test/integration/serving-parity.test.ts), so batching
 * changes only the cost. Tree models have no per-call cost and are scored at once.
 */
export class ScoreBatcher {
  private queue: Pending[] = [];
  private queuedRows = 0;
  private scheduled = false;

  constructor(private readonly model: LoadedModel) {}

  /** The predictions for `rows` (already read by the model's instance reader). */
  score(rows: FeatureInputs[]): Promise<Prediction[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ rows, resolve, reject });
      this.queuedRows += rows.length;
      if (this.queuedRows >= maxBatchRows) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    this.queuedRows = 0;
    this.scheduled = false;
    if (batch.length === 0) return;
    if (batch.length === 1) {
      const only = batch[0] as Pending;
      try {
        only.resolve(this.model.predict(only.rows));
      } catch (error) {
        only.reject(error);
      }
      return;
    }
    let predictions: Prediction[];
    try {
      predictions = this.model.predict(batch.flatMap((p) => p.rows));
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    let at = 0;
    for (const p of batch) {
      p.resolve(predictions.slice(at, at + p.rows.length));
      at += p.rows.length;
    }
  }
}

const batchers = new WeakMap<LoadedModel, ScoreBatcher>();

/**
 * Score rows with a loaded version: batched with the other requests of this event-loop turn for a
 * network TF.js scores, at once for a tree model or a Dense network (whose predictors have no per-call
 * cost to share).
 */
export function scoreRows(model: LoadedModel, rows: FeatureInputs[]): Prediction[] | Promise<Prediction[]> {
  if (!model.batched) return model.predict(rows);
  let batcher = batchers.get(model);
  if (!batcher) {
    batcher = new ScoreBatcher(model);
    batchers.set(model, batcher);
  }
  return batcher.score(rows);
}
