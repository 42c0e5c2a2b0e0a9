/** Per-run costs measured by the scale bench, the inputs of {@link projectWorkers}. */
export interface PerRunCosts {
  /** CPU the workers spent per run (ms of one core), from /proc, with the runs at once. */
  workerCpuMs: number;
  /** CPU the Temporal server, PostgreSQL and the store spent per run (ms of one core). */
  serverCpuMs: number;
  /** Time a run holds `sluice` activity slots (sum of its activities' start → close), measured alone. */
  slotMs: number;
  /** Time a run holds a training slot (its `sluice-train` activities' start → close), measured alone. */
  trainSlotMs: number;
  /** Wall time of one run alone on an idle worker: the floor no number of workers lowers. */
  aloneMs: number;
}

export interface WorkerShape {
  /** Cores each worker machine gives its worker. */
  coresPerWorker: number;
  /** Activity slots per worker (SLUICE_MAX_CONCURRENT_ACTIVITIES). */
  slotsPerWorker: number;
  /** Training slots per worker (SLUICE_MAX_CONCURRENT_TRAINING). */
  trainSlotsPerWorker: number;
}

export type Bound = 'worker cores' | 'activity slots' | 'training slots';

/** What N workers would sustain, on paper. */
export interface Projection {
  workers: number;
  /** Runs per second the workers' cores allow: N × cores ÷ worker CPU per run. */
  cpuBoundRunsPerS: number;
  /** Runs per second the workers' activity slots allow: N × slots ÷ slot time per run. */
  slotBoundRunsPerS: number;
  /** Runs per second the workers' training slots allow: N × training slots ÷ training time per run. */
  trainBoundRunsPerS: number;
  /** The smallest of the three: the workers' throughput. */
  runsPerS: number;
  bound: Bound;
  /** Cores the Temporal server, PostgreSQL and the store need to keep up with that throughput. */
  serverCores: number;
  /** The shortest a run can take, however many workers: one run's own critical path. */
  latencyFloorMs: number;
}

/**
 * A simple capacity model: runs are independent, so N workers on N machines add capacity linearly
 * until the shared services (Temporal on PostgreSQL, the store) become the bound. Each worker's
 * throughput is capped by its cores (worker CPU per run), by its activity slots (slot time per run) and
 * by its training slots (training time per run); the services need (throughput × their CPU per run)
 * cores; no run finishes faster than it does alone.
 */
export function projectWorkers(
  costs: PerRunCosts,
  shape: WorkerShape,
  counts: readonly number[],
): Projection[] {
  return counts.map((workers) => {
    const cpuBoundRunsPerS = (workers * shape.coresPerWorker * 1000) / costs.workerCpuMs;
    const slotBoundRunsPerS = (workers * shape.slotsPerWorker * 1000) / costs.slotMs;
    const trainBoundRunsPerS = (workers * shape.trainSlotsPerWorker * 1000) / costs.trainSlotMs;
    const bounds: [Bound, number][] = [
      ['worker cores', cpuBoundRunsPerS],
      ['activity slots', slotBoundRunsPerS],
      ['training slots', trainBoundRunsPerS],
    ];
    const [bound, runsPerS] = bounds.reduce((low, next) => (next[1] < low[1] ? next : low));
    return {
      workers,
      cpuBoundRunsPerS,
      slotBoundRunsPerS,
      trainBoundRunsPerS,
      runsPerS,
      bound,
      serverCores: (runsPerS * costs.serverCpuMs) / 1000,
      latencyFloorMs: costs.aloneMs,
    };
  });
}

/** All on one machine of `cores` cores (this one): workers and services share them, so N does not matter. */
export function oneMachineBound(costs: PerRunCosts, cores: number): number {
  return (cores * 1000) / (costs.workerCpuMs + costs.serverCpuMs);
}
