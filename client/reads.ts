import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SluiceConfig } from '../lib/config.js';
import { InvalidInputError } from '../pipelines/errors.js';
import { registryMemoKey, type RegistryMemo } from '../pipelines/registry.js';
import type { DagStatus } from '../workflows/index.js';
import { HttpApiUnusableError, TemporalHttpApi, type HttpExecution } from './http-api.js';
import { decodeJsonPayload, type JsonPayload } from './payload-json.js';
import {
  byModelName,
  modelsQuery,
  modelSummary,
  runsLimit,
  runsQuery,
  runSummary,
  statusQueryMs,
  type ModelSummary,
  type RunFilter,
  type RunReport,
  type RunSummary,
} from './run-views.js';

/**
 * The read-only control calls — list runs, a run's status, list models — behind one interface with two
 * transports: Temporal's HTTP API when one is known (`TEMPORAL_HTTP_ADDRESS`, or the one `sluice dev`
 * recorded for its server), which needs no gRPC or protobuf runtime and so starts in a fraction of the
 * time; else the gRPC client, loaded only then. Both answer alike (client/run-views.ts derives each
 * answer from what Temporal returns; test/integration/cli-http-reads.test.ts compares them).
 */
export interface ControlReads {
  /** Which transport answered. */
  readonly transport: 'http' | 'grpc';
  listRuns(filter: RunFilter): Promise<RunSummary[]>;
  runReport(runId: string): Promise<RunReport>;
  listModels(): Promise<ModelSummary[]>;
  close(): Promise<void>;
}

/** Where `sluice dev` records the server it started, so control commands can find its HTTP API. */
export function devServerRecordPath(home: string): string {
  return join(home, 'dev-server.json');
}

/** What `sluice dev` records of the server it runs. */
export interface DevServerRecord {
  address: string;
  httpAddress: string;
  pid: number;
}

/**
 * Open the read path for `config`: HTTP when an HTTP API is configured or recorded for this address,
 * else gRPC. An HTTP API that turns out unusable (nothing listens, or not Temporal) falls back to gRPC,
 * with one line to `warn` when the user configured it explicitly.
 */
export function openReads(config: SluiceConfig, warn: (line: string) => void = () => {}): ControlReads {
  const http = httpAddressFor(config);
  if (!http) return lazyGrpc(config);
  return new HttpReads(config, new TemporalHttpApi(http.url, config.temporal.namespace), (reason) => {
    if (http.explicit) {
      warn(
        `TEMPORAL_HTTP_ADDRESS ${http.url} is not usable (${reason}); used gRPC at ${config.temporal.address}: fix or unset it`,
      );
    }
  });
}

function httpAddressFor(config: SluiceConfig): { url: string; explicit: boolean } | undefined {
  const configured = config.temporal.httpAddress;
  if (configured === 'off') return undefined;
  if (configured) return { url: configured, explicit: true };
  const file = devServerRecordPath(config.home);
  if (!existsSync(file)) return undefined;
  try {
    const record = JSON.parse(readFileSync(file, 'utf8')) as DevServerRecord;
    if (record.address !== config.temporal.address) return undefined;
    process.kill(record.pid, 0); // throws when that server is gone
    return { url: record.httpAddress, explicit: false };
  } catch {
    return undefined;
  }
}

class HttpReads implements ControlReads {
  private grpc: ControlReads | undefined;

  constructor(
    private readonly config: SluiceConfig,
    private readonly api: TemporalHttpApi,
    private readonly onUnusable: (reason: string) => void,
  ) {}

  get transport() {
    return this.grpc ? this.grpc.transport : 'http';
  }

  listRuns(filter: RunFilter) {
    return this.orGrpc(
      async () => {
        const limit = runsLimit(filter);
        const executions = await this.listAll(runsQuery(filter), limit);
        return executions.map((e) =>
          runSummary(
            e.execution.workflowId,
            statusName(e.status),
            new Date(e.startTime),
            this.searchAttributes(e),
          ),
        );
      },
      (grpc) => grpc.listRuns(filter),
    );
  }

  runReport(runId: string) {
    return this.orGrpc(
      async (): Promise<RunReport> => {
        const described = await this.api.describe(runId);
        if (!described) {
          throw new InvalidInputError(
            `no run "${runId}" in namespace ${this.config.temporal.namespace}: list runs with \`sluice runs\` or check the id`,
          );
        }
        const answer = await this.api.query(runId, 'status', statusQueryMs);
        return {
          workflowId: runId,
          temporalState: statusName(described.status),
          startTime: new Date(described.startTime),
          closeTime: described.closeTime ? new Date(described.closeTime) : null,
          status: answer ? (decodeJsonPayload(answer, this.config.payloadKeys) as DagStatus) : null,
        };
      },
      (grpc) => grpc.runReport(runId),
    );
  }

  listModels() {
    return this.orGrpc(
      async () => {
        const executions = await this.listAll(modelsQuery, Number.POSITIVE_INFINITY);
        return byModelName(
          executions.map((e) => {
            const memo = e.memo?.fields?.[registryMemoKey];
            return modelSummary(e.execution.workflowId, memo ? this.readMemo(memo) : undefined);
          }),
        );
      },
      (grpc) => grpc.listModels(),
    );
  }

  async close() {
    await this.grpc?.close();
  }

  private readMemo(memo: JsonPayload): RegistryMemo | Error {
    try {
      return decodeJsonPayload(memo, this.config.payloadKeys) as RegistryMemo;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  private async listAll(query: string, limit: number): Promise<HttpExecution[]> {
    const executions: HttpExecution[] = [];
    let token: string | undefined;
    do {
      const page = await this.api.list(query, Math.min(limit, 1000), token);
      executions.push(...page.executions);
      token = page.nextPageToken;
    } while (token && executions.length < limit);
    return executions.slice(0, limit);
  }

  private searchAttributes(execution: HttpExecution): Record<string, unknown> {
    const fields = execution.searchAttributes?.indexedFields ?? {};
    return Object.fromEntries(
      Object.entries(fields).map(([name, payload]) => [name, decodeJsonPayload(payload, undefined)]),
    );
  }

  private async orGrpc<T>(http: () => Promise<T>, grpc: (reads: ControlReads) => Promise<T>): Promise<T> {
    if (this.grpc) return grpc(this.grpc);
    try {
      return await http();
    } catch (error) {
      if (!(error instanceof HttpApiUnusableError)) throw error;
      this.onUnusable(error.message);
      this.grpc = lazyGrpc(this.config);
      return grpc(this.grpc);
    }
  }
}

/** `WORKFLOW_EXECUTION_STATUS_RUNNING` → `RUNNING`, the name the SDK gives. */
function statusName(status: string): string {
  return status.replace(/^WORKFLOW_EXECUTION_STATUS_/, '');
}

/** The gRPC read path, connecting (and loading the SDK) on first use. */
function lazyGrpc(config: SluiceConfig): ControlReads {
  const opened = import('./grpc-reads.js').then(({ openGrpcReads }) => openGrpcReads(config));
  opened.catch(() => {}); // surfaced by the call that awaits it
  return {
    transport: 'grpc',
    listRuns: async (filter) => (await opened).listRuns(filter),
    runReport: async (runId) => (await opened).runReport(runId),
    listModels: async () => (await opened).listModels(),
    close: async () => {
      await (await opened.catch(() => undefined))?.close();
    },
  };
}
