import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';

/** One reading of a process from outside: cumulative CPU time and resident memory. */
export interface ProcessSample {
  /** `performance.now()` of the reading. */
  atMs: number;
  /** utime + stime, in ms, since the process started. */
  cpuMs: number;
  /** Time its threads spent runnable but waiting for a core (sum of /proc/<pid>/task/<tid>/schedstat), ms. */
  runqueueMs: number;
  rssMiB: number;
}

/** CPU and memory of one process over a window: mean CPU (100 = one core busy), peak and mean RSS. */
export interface UsageSummary {
  cpuPercent: number;
  /**
   * Thread time spent waiting for a core, as % of wall time: near 0 means the CPU figure is what the
   * process wanted; high means it was starved (other processes on a shared machine) and wanted more.
   */
  runqueuePercent: number;
  rssPeakMiB: number;
  rssMeanMiB: number;
  samples: number;
}

export interface ProcessSampler {
  samples: ProcessSample[];
  /** Stop sampling (takes one last reading first). */
  stop(): Promise<void>;
  /** Usage between two `performance.now()` instants, from the readings inside the window. */
  summary(fromMs: number, toMs: number): UsageSummary;
}

const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Read `/proc/<pid>/stat` (utime, stime) and `/proc/<pid>/status` (VmRSS); Linux only. */
export async function readProcess(pid: number): Promise<ProcessSample> {
  const [stat, status] = await Promise.all([
    readFile(`/proc/${pid}/stat`, 'utf8'),
    readFile(`/proc/${pid}/status`, 'utf8'),
  ]);
  // Fields after "pid (comm) ": state is field 3, utime 14, stime 15 (man 5 proc).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rssKiB = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN);
  return {
    atMs: performance.now(),
    cpuMs: (ticks * 1000) / clockTicks,
    runqueueMs: await runqueueWait(pid),
    rssMiB: rssKiB / 1024,
  };
}

/** Sum of every thread's run-queue wait (second field of schedstat, ns), in ms. */
async function runqueueWait(pid: number): Promise<number> {
  const threads = await readdir(`/proc/${pid}/task`);
  const waits = await Promise.all(
    threads.map(async (tid) => {
      try {
        const fields = (await readFile(`/proc/${pid}/task/${tid}/schedstat`, 'utf8')).split(' ');
        return Number(fields[1]) / 1e6;
      } catch {
        return 0; // the thread ended between the listing and the read
      }
    }),
  );
  return waits.reduce((a, b) => a + b, 0);
}

/**
 * Sample a process every `intervalMs` until stopped. A process that has exited ends the sampling
 * quietly: the readings taken so far stay.
 */
export function sampleProcess(pid: number, intervalMs = 500): ProcessSampler {
  const samples: ProcessSample[] = [];
  let stopped = false;
  const take = async () => {
    try {
      samples.push(await readProcess(pid));
    } catch {
      stopped = true;
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await take();
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    samples,
    async stop() {
      if (!stopped) await take();
      stopped = true;
      await loop;
    },
    summary(fromMs, toMs) {
      const inside = samples.filter((s) => s.atMs >= fromMs && s.atMs <= toMs);
      const first = inside[0];
      const last = inside[inside.length - 1];
      const rss = inside.map((s) => s.rssMiB);
      const perWall = (delta: (a: ProcessSample, b: ProcessSample) => number) =>
        first && last && last.atMs > first.atMs
          ? (delta(first, last) / (last.atMs - first.atMs)) * 100
          : Number.NaN;
      return {
        cpuPercent: perWall((a, b) => b.cpuMs - a.cpuMs),
        runqueuePercent: perWall((a, b) => b.runqueueMs - a.runqueueMs),
        rssPeakMiB: rss.length ? Math.max(...rss) : Number.NaN,
        rssMeanMiB: rss.length ? rss.reduce((a, b) => a + b, 0) / rss.length : Number.NaN,
        samples: inside.length,
      };
    },
  };
}
