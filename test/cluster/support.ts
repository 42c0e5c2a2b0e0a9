import { chmod, mkdir, mkdtemp, readFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { portOpen } from '../../infra/temporal/cluster.js';
import type { ClusterReport } from '../../infra/cluster/provision.js';
import { sluice } from '../support/cli.js';
import { projectRoot } from '../support/paths.js';

/**
 * A fresh SLUICE_HOME for a cluster test. Its `bin` is the project's `.sluice/bin`, where `npx sluice
 * setup --cluster` (CI) built the servers, so no test builds them again. Searchable by others: as
 * root, PostgreSQL runs as the postgres user, which must reach its data directory.
 */
export async function clusterHome(): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'sluice-cluster-'));
  await chmod(home, 0o755);
  const bin = join(projectRoot, '.sluice', 'bin');
  await mkdir(bin, { recursive: true });
  await symlink(bin, join(home, 'bin'));
  return home;
}

/**
 * `count` consecutive ports nothing listens on (the Temporal server takes ten from its frontend), all
 * at most 32767: the server keeps its membership ports in a PostgreSQL smallint.
 */
export async function freePortBlock(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * (32_767 - 20_000 - count));
    const taken = await Promise.all(
      Array.from({ length: count }, (_, i) => portOpen('127.0.0.1', base + i, 300)),
    );
    if (!taken.some(Boolean)) return base;
  }
  throw new Error(`no ${count} free consecutive ports found`);
}

/** Run `sluice cluster <verb> --json` and return its report; fails with the command's stderr. */
export async function cluster(
  verb: 'up' | 'down' | 'status',
  home: string,
  args: string[] = [],
): Promise<ClusterReport & { exists?: boolean }> {
  const result = await sluice(['cluster', verb, '--json', ...args], { SLUICE_HOME: home }, 1_200_000);
  if (result.code !== 0) throw new Error(`sluice cluster ${verb} failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout) as ClusterReport;
}

/** The variables `<home>/cluster/env` exports, read back the way `source` would see them. */
export async function envFile(home: string): Promise<Record<string, string>> {
  const text = await readFile(join(home, 'cluster', 'env'), 'utf8');
  const entries = [...text.matchAll(/^export ([A-Z0-9_]+)=(.*)$/gm)].map(([, key, raw]) => {
    const value = raw?.startsWith("'") ? raw.slice(1, -1).replace(/'\\''/g, "'") : (raw ?? '');
    return [key ?? '', value] as const;
  });
  return Object.fromEntries(entries);
}
