import { readdir, readFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';

const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU (ms) a process and its children have used: its own utime + stime, plus the cutime + cstime of
 * children it has reaped, plus the utime + stime of children still alive. PostgreSQL runs a backend
 * process per connection under the postmaster, so its CPU is the tree's, not the postmaster's.
 */
export async function treeCpuMs(root: number): Promise<number> {
  let total = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = await readFile(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited between the listing and the read
    }
    // Fields after "pid (comm) ": ppid is field 4, utime 14, stime 15, cutime 16, cstime 17 (man 5 proc).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pid = Number(entry);
    const ppid = Number(fields[1]);
    if (pid === root) {
      total += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    } else if (ppid === root) {
      total += Number(fields[11]) + Number(fields[12]);
    }
  }
  return (total * 1000) / clockTicks;
}
