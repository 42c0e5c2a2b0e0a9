import type { Command } from 'commander';
import type { ClusterCommandOptions, ClusterUpCommandOptions } from '../actions/cluster.js';

/**
 * `sluice cluster up|down|status`: a production-shaped Temporal (PostgreSQL) and MinIO on this
 * machine's loopback, for testing the cluster path; not a replacement for a real deployment.
 */
export function registerCluster(program: Command): void {
  const cluster = program
    .command('cluster')
    .description(
      'a local cluster for testing the scale-out path: PostgreSQL, the Temporal server on it and MinIO (S3), ' +
        'on 127.0.0.1 with data under <SLUICE_HOME>/cluster (docs/cluster.md)',
    );
  const home = [
    '--home <dir>',
    'SLUICE_HOME to keep the cluster in (default: $SLUICE_HOME or .sluice)',
  ] as const;
  cluster
    .command('up')
    .description(
      'build what is missing (once, with Go), start PostgreSQL, apply the Temporal schema, start the Temporal ' +
        'server (namespace and search attributes ready) and MinIO (bucket created); print the env to use and ' +
        'write it to <SLUICE_HOME>/cluster/env. Safe to repeat; recovers after a crash',
    )
    .option(...home)
    .option(
      '--temporal-port <port>',
      'Temporal frontend gRPC port, at most 32758; the server uses the nine after it too (default 17233)',
    )
    .option('--postgres-port <port>', 'PostgreSQL port (default 15432)')
    .option('--minio-port <port>', 'MinIO S3 port; its console takes the next (default 19000)')
    .action(async (options: ClusterUpCommandOptions, command: Command) =>
      (await import('../actions/cluster.js')).clusterUpAction(options, command),
    );
  cluster
    .command('down')
    .description('stop the Temporal server, MinIO and PostgreSQL cleanly (data is kept for the next up)')
    .option(...home)
    .action(async (options: ClusterCommandOptions, command: Command) =>
      (await import('../actions/cluster.js')).clusterDownAction(options, command),
    );
  cluster
    .command('status')
    .description('what runs: each part with its pid, address, version and log')
    .option(...home)
    .action(async (options: ClusterCommandOptions, command: Command) =>
      (await import('../actions/cluster.js')).clusterStatusAction(options, command),
    );
}
