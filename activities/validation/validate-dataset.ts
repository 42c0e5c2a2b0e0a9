import type { Contract } from '../../pipelines/contract.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import type { DatasetStatistics } from '../../pipelines/statistics.js';
import type { Anomaly, ValidationResult } from '../../pipelines/validation.js';
import type { DatasetFormat } from '../dataset-reader.js';
import { withDatasetView } from '../dataset-view.js';
import { unreadable } from '../statistics/compute-statistics.js';
import { runCustomChecks } from './custom-sql.js';
import { runQueryChecks } from './query-checks.js';
import { statChecks } from './stat-checks.js';

export interface ValidateOptions {
  /** Default: from the file extension. */
  format?: DatasetFormat;
  /** Epoch milliseconds freshness is measured against. Default: now. */
  referenceTime?: number;
}

/**
 * Check a dataset against its contract. Most checks are answered from the statistics already computed
 * (no scan); `allowed`/`regex`/`unique` share one targeted scan and custom SQL checks run as written.
 * A dataset that breaks its contract is a result (`passed: false`), never an exception: the gate is
 * decided in workflow code from `errorCount`.
 *
 * @throws InvalidInputError for a contract that cannot be evaluated (a bad regex, a custom check that
 *   is not one SELECT) or data DuckDB cannot read.
 */
export async function validate(
  contract: Contract,
  statistics: DatasetStatistics,
  datasetPath: string,
  options: ValidateOptions = {},
): Promise<ValidationResult> {
  const referenceTime = options.referenceTime ?? Date.now();
  const fromStats = statChecks(contract, statistics, referenceTime);
  let fromData: Anomaly[] = [];
  if (fromStats.pending.length > 0 || contract.checks.length > 0) {
    try {
      fromData = await withDatasetView(datasetPath, options.format, async (db, view) => [
        ...(await runQueryChecks(db, view, fromStats.pending)),
        ...(await runCustomChecks(db, contract.checks)),
      ]);
    } catch (error) {
      if (error instanceof InvalidInputError) throw error;
      throw unreadable(statistics.dataset.name, datasetPath, error);
    }
  }
  const anomalies = [...fromStats.anomalies, ...fromData].sort((a, b) => rank(a) - rank(b));
  const errorCount = anomalies.filter((a) => a.severity === 'error').length;
  return {
    format: 'sluice.validation/v1',
    dataset: statistics.dataset,
    passed: errorCount === 0,
    errorCount,
    warningCount: anomalies.length - errorCount,
    checks: fromStats.checks + contract.checks.length,
    referenceTime: new Date(referenceTime).toISOString(),
    anomalies,
  };
}

/** Errors before warnings; otherwise in the order the contract lists the checks. */
function rank(anomaly: Anomaly): number {
  return anomaly.severity === 'error' ? 0 : 1;
}
