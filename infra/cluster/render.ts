import type { ClusterCredentials, ClusterPorts, ClusterState } from './layout.js';

/**
 * The Temporal server's config for the local cluster: `config/development-postgres12.yaml` of the
 * server release (v1.29.1) with its ports moved to `ports`, PostgreSQL reached over loopback as the
 * `temporal` user (trust auth, loopback only), pprof off and the dynamic config at an absolute path
 * (the server resolves a relative one against its working directory).
 */
export function renderServerConfig(options: {
  ports: ClusterPorts;
  dynamicConfigFile: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}): string {
  const { ports } = options;
  const datastore = (database: string, maxConns: number) => `      sql:
        pluginName: "postgres12"
        databaseName: "${database}"
        connectAddr: "127.0.0.1:${ports.postgres}"
        connectProtocol: "tcp"
        user: "temporal"
        password: "temporal"
        maxConns: ${maxConns}
        maxIdleConns: ${maxConns}
        maxConnLifetime: "1h"`;
  const service = (grpc: number, membership: number, http?: number) => `    rpc:
      grpcPort: ${grpc}
      membershipPort: ${membership}
      bindOnLocalHost: true${http === undefined ? '' : `\n      httpPort: ${http}`}`;
  return `# Written by \`sluice cluster up\` from the Temporal server's development-postgres12.yaml (v1.29.1).
log:
  stdout: true
  level: ${options.logLevel ?? 'info'}

persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:
${datastore('temporal', 20)}
    postgres-visibility:
${datastore('temporal_visibility', 4)}

global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
  pprof:
    port: 0
  metrics:
    prometheus:
      framework: "tally"
      timerType: "histogram"
      listenAddress: "127.0.0.1:${ports.metrics}"

services:
  frontend:
${service(ports.frontend, ports.frontendMembership, ports.frontendHttp)}
  matching:
${service(ports.matching, ports.matchingMembership)}
  history:
${service(ports.history, ports.historyMembership)}
  worker:
${service(ports.worker, ports.workerMembership)}

clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: "127.0.0.1:${ports.frontend}"

dcRedirectionPolicy:
  policy: "noop"

dynamicConfigClient:
  filepath: ${JSON.stringify(options.dynamicConfigFile)}
  pollInterval: "10s"
`;
}

/**
 * Dynamic config in the server's file format: each key with one unconstrained value. Numbers and
 * booleans are written bare, everything else quoted.
 */
export function renderDynamicConfig(values: Readonly<Record<string, string>>): string {
  const lines = ['# Written by `sluice cluster up`: the values the embedded dev server runs with.'];
  for (const [key, value] of Object.entries(values)) {
    const bare = /^(-?\d+(\.\d+)?|true|false)$/.test(value);
    lines.push(`${key}:`, `  - value: ${bare ? value : JSON.stringify(value)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The variables a worker, `sluice serve` or the CLI needs to use the local cluster. */
export function clusterEnv(state: ClusterState, credentials: ClusterCredentials): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: `127.0.0.1:${state.ports.frontend}`,
    // The frontend's HTTP API: `runs`, `status` and `models` read over it without the gRPC runtime.
    TEMPORAL_HTTP_ADDRESS: `127.0.0.1:${state.ports.frontendHttp}`,
    TEMPORAL_NAMESPACE: state.namespace,
    SLUICE_ARTIFACTS: `s3://${state.bucket}/${state.prefix}`,
    SLUICE_S3_ENDPOINT: `http://127.0.0.1:${state.ports.minio}`,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    // MinIO answers in any region; the AWS SDK refuses to start without one.
    AWS_REGION: 'us-east-1',
  };
}

/** `export NAME='value'` lines for `source <SLUICE_HOME>/cluster/env` (values single-quoted for sh). */
export function renderEnvFile(env: Record<string, string>): string {
  const lines = ['# Written by `sluice cluster up`. Use: source this file (it holds a secret: mode 0600).'];
  for (const [key, value] of Object.entries(env)) lines.push(`export ${key}=${shellQuote(value)}`);
  return `${lines.join('\n')}\n`;
}

/** One line a person can put in front of a command: `TEMPORAL_ADDRESS=… SLUICE_ARTIFACTS=… sluice worker`. */
export function renderEnvLine(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([key, value]) => `${key}=${shellQuote(value)}`)
    .join(' ');
}

function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
