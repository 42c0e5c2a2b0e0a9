import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigurationError } from '../pipelines/errors.js';
import { parseArtifactLocation, type ArtifactLocation } from './artifacts/location.js';
import { parsePayloadKeys, type PayloadKeys } from './payload-keys.js';

const hostPort = z
  .string()
  .regex(/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/, 'host:port, e.g. 127.0.0.1:7233')
  .refine((value) => Number(value.slice(value.lastIndexOf(':') + 1)) <= 65535, 'a port of at most 65535');
const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().min(1).max(10_000);

/**
 * Every environment variable Sluice reads, with its default. This is the only place `process.env` is
 * read; the parsed {@link SluiceConfig} is passed down from here.
 */
const envSchema = z.object({
  TEMPORAL_ADDRESS: hostPort.default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).max(255).default('default'),
  TEMPORAL_CLI_PATH: z.string().optional(),
  /**
   * The frontend's HTTP API (`host:port` or an http(s) URL; Temporal's `frontend.httpPort`, 7243 by
   * default). When set, read-only control commands (`runs`, `status`, `models`) use it instead of
   * loading the gRPC client: they start in a fraction of the time. `off`: never.
   */
  TEMPORAL_HTTP_ADDRESS: z
    .string()
    .regex(/^(off|https?:\/\/\S+|[A-Za-z0-9.\-[\]:]+:\d{1,5})$/, 'host:port, an http(s):// URL, or off')
    .optional(),
  SLUICE_HOME: z.string().min(1).default('.sluice'),
  /** Where artifacts live: a directory (default `<SLUICE_HOME>/artifacts`) or `s3://bucket/prefix`. */
  SLUICE_ARTIFACTS: z.string().min(1).optional(),
  /** An S3-compatible endpoint (MinIO: `http://127.0.0.1:9000`); unset: AWS S3. */
  SLUICE_S3_ENDPOINT: z.string().url().optional(),
  /** How long one request to the S3 store retries a restarting or unreachable service (ms; 0: no waiting). */
  SLUICE_S3_WAIT_MS: z.coerce.number().int().min(0).max(3_600_000).default(120_000),
  AWS_REGION: z.string().min(1).optional(),
  AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  AWS_SESSION_TOKEN: z.string().min(1).optional(),
  SLUICE_TASK_QUEUE: z.string().min(1).default('sluice'),
  SLUICE_TRAIN_TASK_QUEUE: z.string().min(1).default('sluice-train'),
  SLUICE_UI_PORT: port.default(8233),
  SLUICE_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
  /** Directories data may be read from, separated by `:`; default: the working directory. */
  SLUICE_DATA_ROOTS: z.string().optional(),
  /** Secret key for hashing columns marked `pii: 'hash'` (HMAC-SHA256); needed only when one is. */
  SLUICE_PII_KEY: z
    .string()
    .min(16, 'at least 16 characters of secret, e.g. the output of `openssl rand -hex 32`')
    .optional(),
  /** JSON file mapping roles to ids (`{"roles": {"risk": ["alice"]}}`); default `<SLUICE_HOME>/roles.json`. */
  SLUICE_ROLES_FILE: z.string().optional(),
  /** Approvers' and operators' public keys (`sluice keys`); default `keys.json` beside the roles file. */
  SLUICE_KEYS_FILE: z.string().optional(),
  /** Where `sluice keys create` writes private keys and `sluice approve` finds them; default `~/.sluice/keys`. */
  SLUICE_KEYS_DIR: z.string().optional(),
  /**
   * Payload encryption keys, `id:key[,id:key…]` (32 bytes each, hex or base64); the first encrypts,
   * all decrypt. Unset: payloads are stored as plain JSON.
   */
  SLUICE_PAYLOAD_KEYS: z.string().optional(),
  SLUICE_MAX_CONCURRENT_ACTIVITIES: positiveInt.default(8),
  SLUICE_MAX_CONCURRENT_TRAINING: positiveInt.default(1),
  /**
   * Open runs a worker keeps in memory; past it the least recently used is evicted and replays its
   * history when it next has work. With 1,000 runs waiting at gates the worker held 827 MiB at 100,
   * 2.1 GiB at 500 (`npm run bench -- load`, docs/benchmarks.md).
   */
  SLUICE_MAX_CACHED_RUNS: z.coerce.number().int().min(0).max(100_000).default(100),
  /** `sluice serve`: listening port, request body limit, and where the prediction log goes. */
  SLUICE_SERVE_PORT: port.default(8080),
  SLUICE_SERVE_HOST: z.string().min(1).default('127.0.0.1'),
  SLUICE_SERVE_BODY_LIMIT: z.coerce
    .number()
    .int()
    .min(1024)
    .max(256 * 1024 * 1024)
    .default(1024 * 1024),
  /** Default `<SLUICE_HOME>/prediction-log`. */
  SLUICE_PREDICTION_LOG_DIR: z.string().optional(),
  /** Bearer tokens (hashed) for serving's state-changing routes; default `<SLUICE_HOME>/tokens.json`. */
  SLUICE_TOKENS_FILE: z.string().optional(),
  /** Requests a minute each identity may make to the state-changing routes (0: no limit). */
  SLUICE_SERVE_RATE_LIMIT: z.coerce.number().int().min(0).max(1_000_000).default(120),
  /** Predict requests a minute per client: its identity with SLUICE_SERVE_PREDICT_AUTH, else its address (0: no limit). */
  SLUICE_SERVE_PREDICT_RATE_LIMIT: z.coerce.number().int().min(0).max(100_000_000).default(0),
  /** `true`: predict, too, needs a bearer token with role `predict`. */
  SLUICE_SERVE_PREDICT_AUTH: z.enum(['true', 'false', '1', '0']).default('false'),
  /** The monitor POSTs breaches here as JSON; unset: alerts go to the log only. */
  SLUICE_ALERT_WEBHOOK: z.string().url().optional(),
  /** Step modules every worker and `sluice run` load (`defineStep`), separated by `,` or the path delimiter. */
  SLUICE_STEPS: z.string().optional(),
  PATH: z.string().default(''),
});

/** The names of every environment variable Sluice reads (for checks that a deployment names only these). */
export const configVariables: readonly string[] = Object.keys(envSchema.shape);

/** Variables whose values never appear in an error message. */
const secretVariables = new Set([
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'SLUICE_PII_KEY',
  'SLUICE_PAYLOAD_KEYS',
  'SLUICE_ALERT_WEBHOOK',
]);

export interface SluiceConfig {
  temporal: {
    address: string;
    namespace: string;
    /** `TEMPORAL_CLI_PATH`, when set. */
    cliPath: string | undefined;
    /** `TEMPORAL_HTTP_ADDRESS` as a base URL (`http://host:port`); `'off'`; or unset. */
    httpAddress: string | undefined;
    uiPort: number;
  };
  /** Absolute `SLUICE_HOME`: artifacts, the dev server's SQLite file, logs, the CLI cache. */
  home: string;
  /** `SLUICE_ARTIFACTS` and the S3 variables: where the artifact store is. Credentials: never logged. */
  artifacts: ArtifactLocation;
  taskQueues: { orchestration: string; train: string };
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /** Absolute directories that data sources must resolve inside. */
  dataRoots: string[];
  concurrency: { activities: number; training: number; cachedRuns: number };
  /** The `PATH` to search for tools. */
  searchPath: string;
  /** Where role membership is read from, and whether the user named it (then it must exist). */
  roles: { file: string; explicit: boolean };
  /** The public keys file (registered keys), and the directory of this user's private keys. */
  keys: { file: string; dir: string };
  /** `SLUICE_PII_KEY`: the HMAC key for pii columns, when set. Never logged. */
  piiKey: string | undefined;
  /** `SLUICE_PAYLOAD_KEYS`: payload encryption keys, when set. Never logged. */
  payloadKeys: PayloadKeys | undefined;
  /** `sluice serve`: where it listens, its request body limit in bytes, its prediction log directory. */
  serve: {
    host: string;
    port: number;
    bodyLimit: number;
    predictionLogDir: string;
    /** Where bearer tokens are kept (hashed). */
    tokensFile: string;
    /** Requests a minute: per identity on state-changing routes, per client on predict; 0 is none. */
    rateLimit: { control: number; predict: number };
    /** Whether predict needs a token with role `predict`. */
    predictAuth: boolean;
  };
  /** `SLUICE_ALERT_WEBHOOK`: where monitor breaches are POSTed, when set. May hold a token: never logged. */
  alertWebhook: string | undefined;
  /** `SLUICE_STEPS`: absolute paths of the user's step modules, loaded beside `--steps`. */
  steps: string[];
}

/**
 * Parse the environment once at start-up.
 *
 * @throws ConfigurationError naming the variable, its value and what is expected.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): SluiceConfig {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    const name = String(issue?.path[0] ?? 'environment');
    const shown = secretVariables.has(name) ? '(secret, not shown)' : JSON.stringify(env[name] ?? '');
    throw new ConfigurationError(
      `${name}=${shown} is invalid: ${issue?.message ?? 'unknown problem'}; fix or unset it`,
      { details: { variable: name, issues: parsed.error.issues.map((i) => i.message) } },
    );
  }
  const e = parsed.data;
  const home = isAbsolute(e.SLUICE_HOME) ? e.SLUICE_HOME : resolve(cwd, e.SLUICE_HOME);
  const roots = (e.SLUICE_DATA_ROOTS ?? cwd)
    .split(':')
    .filter(Boolean)
    .map((root) => resolve(cwd, root));
  return {
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      cliPath: e.TEMPORAL_CLI_PATH,
      httpAddress: httpBase(e.TEMPORAL_HTTP_ADDRESS),
      uiPort: e.SLUICE_UI_PORT,
    },
    home,
    artifacts: parseArtifactLocation(
      {
        artifacts: e.SLUICE_ARTIFACTS,
        endpoint: e.SLUICE_S3_ENDPOINT,
        region: e.AWS_REGION,
        accessKeyId: e.AWS_ACCESS_KEY_ID,
        secretAccessKey: e.AWS_SECRET_ACCESS_KEY,
        sessionToken: e.AWS_SESSION_TOKEN,
        waitMs: e.SLUICE_S3_WAIT_MS,
      },
      home,
      cwd,
    ),
    taskQueues: { orchestration: e.SLUICE_TASK_QUEUE, train: e.SLUICE_TRAIN_TASK_QUEUE },
    logLevel: e.SLUICE_LOG_LEVEL,
    dataRoots: roots,
    concurrency: {
      activities: e.SLUICE_MAX_CONCURRENT_ACTIVITIES,
      training: e.SLUICE_MAX_CONCURRENT_TRAINING,
      cachedRuns: e.SLUICE_MAX_CACHED_RUNS,
    },
    searchPath: e.PATH,
    roles: e.SLUICE_ROLES_FILE
      ? { file: resolve(cwd, e.SLUICE_ROLES_FILE), explicit: true }
      : { file: resolve(home, 'roles.json'), explicit: false },
    keys: {
      file: e.SLUICE_KEYS_FILE
        ? resolve(cwd, e.SLUICE_KEYS_FILE)
        : join(
            dirname(e.SLUICE_ROLES_FILE ? resolve(cwd, e.SLUICE_ROLES_FILE) : resolve(home, 'roles.json')),
            'keys.json',
          ),
      dir: e.SLUICE_KEYS_DIR ? resolve(cwd, e.SLUICE_KEYS_DIR) : join(homedir(), '.sluice', 'keys'),
    },
    piiKey: e.SLUICE_PII_KEY,
    payloadKeys: e.SLUICE_PAYLOAD_KEYS === undefined ? undefined : parsePayloadKeys(e.SLUICE_PAYLOAD_KEYS),
    serve: {
      host: e.SLUICE_SERVE_HOST,
      port: e.SLUICE_SERVE_PORT,
      bodyLimit: e.SLUICE_SERVE_BODY_LIMIT,
      predictionLogDir: resolve(home, e.SLUICE_PREDICTION_LOG_DIR ?? 'prediction-log'),
      tokensFile: e.SLUICE_TOKENS_FILE ? resolve(cwd, e.SLUICE_TOKENS_FILE) : resolve(home, 'tokens.json'),
      rateLimit: { control: e.SLUICE_SERVE_RATE_LIMIT, predict: e.SLUICE_SERVE_PREDICT_RATE_LIMIT },
      predictAuth: e.SLUICE_SERVE_PREDICT_AUTH === 'true' || e.SLUICE_SERVE_PREDICT_AUTH === '1',
    },
    alertWebhook: e.SLUICE_ALERT_WEBHOOK,
    steps: (e.SLUICE_STEPS ?? '')
      .split(delimiter === ';' ? /[,;]/ : /[,:]/)
      .map((part) => part.trim())
      .filter(Boolean)
      .map((module) => resolve(cwd, module)),
  };
}

/** Split `host:port` (IPv6 in brackets allowed). */
function httpBase(value: string | undefined): string | undefined {
  if (value === undefined || value === 'off' || /^https?:\/\//.test(value)) return value?.replace(/\/+$/, '');
  return `http://${value}`;
}

export function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(address.slice(colon + 1)) };
}
