import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runChild, type BenchResult } from './harness.js';

const ROUNDS = 3;
const child = fileURLToPath(new URL('./data-child.ts', import.meta.url));

interface Phase {
  wallMs: number;
  cpuMs: number;
}

interface Measured {
  mode: 'sluice' | 'reference';
  rows: number;
  maxRSS: number;
  ingest?: Phase;
  statistics: Phase;
  validation?: Phase;
}

/**
 * The `data` bench (issue 3, item 9): ingest + statistics + validation of `flights-3m.parquet`
 * (3,000,000 rows), beside a reference measured in the same run — one hand-written DuckDB SQL
 * statement computing the same statistics (`bench/data-queries.ts`). Each measurement runs in its own
 * process (so peak RSS is its own), rounds alternate between the two, and medians are reported, with
 * CPU time beside wall time because CPU time holds steady when other work shares the machine.
 */
export async function run(args: string[] = []): Promise<BenchResult> {
  const rounds = args.includes('--quick') ? 1 : ROUNDS;
  const runs: Measured[] = [];
  for (let round = 0; round < rounds; round++) {
    runs.push(await measure('reference'));
    runs.push(await measure('sluice'));
  }
  const reference = runs.filter((r) => r.mode === 'reference');
  const sluice = runs.filter((r) => r.mode === 'sluice');
  const rows = reference[0]?.rows ?? 0;
  const zero: Phase = { wallMs: 0, cpuMs: 0 };
  const phases = {
    reference: reference.map((r) => r.statistics),
    ingest: sluice.map((r) => r.ingest ?? zero),
    statistics: sluice.map((r) => r.statistics),
    validation: sluice.map((r) => r.validation ?? zero),
    total: sluice.map((r) => sum([r.ingest ?? zero, r.statistics, r.validation ?? zero])),
  };
  const ref = {
    wall: median(phases.reference.map((p) => p.wallMs)),
    cpu: median(phases.reference.map((p) => p.cpuMs)),
  };
  const rss = (list: Measured[]): number => Math.round(Math.max(...list.map((r) => r.maxRSS)) / 1024);
  const line = (phase: string, list: Phase[], peak: number | string): Record<string, string | number> => {
    const wall = median(list.map((p) => p.wallMs));
    const cpu = median(list.map((p) => p.cpuMs));
    return {
      phase,
      'wall s': wall / 1000,
      'rows/s': Math.round(rows / (wall / 1000)),
      'x ref (wall)': wall / ref.wall,
      'cpu s': cpu / 1000,
      'x ref (cpu)': cpu / ref.cpu,
      'peak RSS MB': peak,
    };
  };
  const total = line('sluice total: ingest + statistics + validation', phases.total, rss(sluice));
  const stats = line('sluice statistics (2 passes + JSON/MD/HTML artifacts)', phases.statistics, '–');
  return {
    name: 'data',
    description: `ingest + statistics + validation of flights-3m.parquet (${rows.toLocaleString('en-US')} rows), median of ${rounds}`,
    rows: [
      line('reference: one DuckDB SQL statement, same statistics', phases.reference, rss(reference)),
      line('sluice ingest (zstd Parquet snapshot into the store)', phases.ingest, '–'),
      stats,
      line('sluice validation (stat checks + 1 regex scan + 1 SQL check)', phases.validation, '–'),
      total,
    ],
    notes: [
      `Targets: within 1.5x of the reference — total ${fmt(total['x ref (wall)'])}x wall (${fmt(total['x ref (cpu)'])}x CPU), ` +
        `statistics alone ${fmt(stats['x ref (wall)'])}x wall (${fmt(stats['x ref (cpu)'])}x CPU); peak RSS under 700 MB (${rss(sluice)} MB).`,
      'The reference reads the source file once per statement scan; Sluice reads it to ingest, then its own snapshot.',
      'Peak RSS is each child process’s maxRSS (process.resourceUsage): Node and DuckDB together.',
    ],
    ratios: {
      dataVsDuckdbPass: Number(total['x ref (wall)']),
      dataVsDuckdbPassCpu: Number(total['x ref (cpu)']),
      statisticsVsDuckdbPass: Number(stats['x ref (wall)']),
    },
    extra: { runs, loadAverage: loadavg() },
  };
}

function measure(mode: 'sluice' | 'reference'): Promise<Measured> {
  return runChild<Measured>(child, [mode]);
}

function sum(phases: readonly Phase[]): Phase {
  return phases.reduce((a, b) => ({ wallMs: a.wallMs + b.wallMs, cpuMs: a.cpuMs + b.cpuMs }), {
    wallMs: 0,
    cpuMs: 0,
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function fmt(value: string | number | undefined): string {
  return typeof value === 'number' ? value.toFixed(2) : String(value);
}
