import { defineConfig } from 'vitest/config';

/**
 * Four projects: `unit` (pure logic and activities on small real files, no server), `integration`
 * (one real Temporal dev server for the whole run, started by the global setup through Sluice's own
 * provisioning code; every test file in its own forked process with its own worker and task queues),
 * `replay` (committed histories against the current workflow code) and `reliability` (real processes
 * killed and restarted: workers, the dev server, serving; on the same kind of server as `integration`).
 * A fifth, `cluster`, runs against the production-shaped local cluster (`sluice cluster up`: PostgreSQL,
 * the Temporal server, MinIO) that each of its files brings up itself; `npm run test:cluster`.
 * A sixth, `browser`, drives the console in the system's Chromium (`npm run test:browser`).
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          pool: 'forks',
          testTimeout: 30_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          pool: 'forks',
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'reliability',
          include: ['test/reliability/**/*.test.ts'],
          pool: 'forks',
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 240_000,
          hookTimeout: 180_000,
          // Faults are timed against real processes: one file at a time, so they don't starve each other.
          maxWorkers: 1,
          sequence: { groupOrder: 3 },
        },
      },
      {
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          pool: 'forks',
          // The console in the system's Chromium (Debian's `chromium`), on the same kind of dev server.
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 240_000,
          hookTimeout: 180_000,
          maxWorkers: 1,
          sequence: { groupOrder: 5 },
        },
      },
      {
        test: {
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          pool: 'forks',
          testTimeout: 300_000,
          hookTimeout: 1_200_000, // a first `cluster up` on a fresh machine builds the binaries (~15 min)
          // Each file owns a whole cluster (three servers): one at a time on a small machine.
          maxWorkers: 1,
          sequence: { groupOrder: 4 },
        },
      },
      {
        test: {
          name: 'replay',
          include: ['test/replay/**/*.test.ts'],
          pool: 'forks',
          sequence: { groupOrder: 2 },
          testTimeout: 120_000,
          // Bundling the workflow code (once per fixture) takes a while on a busy machine.
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
