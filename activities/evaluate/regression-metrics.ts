/** Regression metrics with optional bootstrap weights: RMSE, MAE and R² (1 − SSres / SStot). */
export interface RegressionMetrics {
  rmse: number;
  mae: number;
  r2: number | null;
}

export function regressionMetrics(
  y: Float32Array,
  yHat: Float32Array,
  weights?: Float64Array,
): RegressionMetrics {
  let total = 0;
  let sum = 0;
  for (let i = 0; i < y.length; i++) {
    const w = weights ? (weights[i] as number) : 1;
    total += w;
    sum += w * (y[i] as number);
  }
  const mean = sum / total;
  let squared = 0;
  let absolute = 0;
  let variance = 0;
  for (let i = 0; i < y.length; i++) {
    const w = weights ? (weights[i] as number) : 1;
    if (w === 0) continue;
    const error = (yHat[i] as number) - (y[i] as number);
    squared += w * error * error;
    absolute += w * Math.abs(error);
    variance += w * ((y[i] as number) - mean) ** 2;
  }
  return {
    rmse: Math.sqrt(squared / total),
    mae: absolute / total,
    r2: variance > 0 ? 1 - squared / variance : null,
  };
}
