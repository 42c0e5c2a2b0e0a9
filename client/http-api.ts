import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { DependencyUnavailableError, InvalidInputError } from '../pipelines/errors.js';
import type { JsonPayload } from './payload-json.js';

/** One workflow execution as the HTTP API lists or describes it (the fields Sluice reads). */
export interface HttpExecution {
  execution: { workflowId: string; runId: string };
  type: { name: string };
  startTime: string;
  closeTime?: string;
  status: string;
  memo?: { fields?: Record<string, JsonPayload> };
  searchAttributes?: { indexedFields?: Record<string, JsonPayload> };
}

/**
 * The HTTP API could not be used at all (nothing listens, or what answers is not Temporal's HTTP API):
 * the caller falls back to gRPC. A Temporal error (no such workflow, …) is not this.
 */
export class HttpApiUnusableError extends Error {}

/**
 * The read-only calls of Temporal's HTTP API (the frontend's gRPC-gateway, `/api/v1/…`) that Sluice's
 * control commands need — list, describe, query — over `fetch`, with payloads left encoded
 * (`noPayloadShorthand`) for {@link decodeJsonPayload}. Loads no gRPC or protobuf runtime: this is what
 * lets `sluice runs` start in a fraction of the time (docs/benchmarks.md, `npm run bench -- cli`).
 */
export class TemporalHttpApi {
  constructor(
    readonly baseUrl: string,
    readonly namespace: string,
  ) {}

  /** One page of a visibility query, newest first. */
  async list(
    query: string,
    pageSize: number,
    nextPageToken?: string,
  ): Promise<{ executions: HttpExecution[]; nextPageToken?: string }> {
    const params = new URLSearchParams({ query, pageSize: String(pageSize) });
    if (nextPageToken) params.set('nextPageToken', nextPageToken);
    const body = await this.call<{ executions?: HttpExecution[]; nextPageToken?: string }>(
      'GET',
      `workflows?${params.toString()}&noPayloadShorthand`,
    );
    return {
      executions: body.executions ?? [],
      ...(body.nextPageToken ? { nextPageToken: body.nextPageToken } : {}),
    };
  }

  /** `DescribeWorkflowExecution` of the latest run of `workflowId`; `null` when there is no such workflow. */
  async describe(workflowId: string): Promise<HttpExecution | null> {
    const body = await this.call<{ workflowExecutionInfo?: HttpExecution } | null>(
      'GET',
      `workflows/${encodeURIComponent(workflowId)}?noPayloadShorthand`,
      undefined,
      { notFound: null },
    );
    return body?.workflowExecutionInfo ?? null;
  }

  /**
   * Run query `queryType` on `workflowId` (answered by a worker); `null` when none answers within
   * `timeoutMs` or Temporal refuses it, as the gRPC path treats a failed status query.
   */
  async query(workflowId: string, queryType: string, timeoutMs: number): Promise<JsonPayload | null> {
    try {
      const body = await this.call<{ queryResult?: { payloads?: JsonPayload[] } }>(
        'POST',
        `workflows/${encodeURIComponent(workflowId)}/query/${encodeURIComponent(queryType)}?noPayloadShorthand`,
        { query: { queryType } },
        { timeoutMs },
      );
      return body.queryResult?.payloads?.[0] ?? null;
    } catch (error) {
      if (error instanceof HttpApiUnusableError) throw error;
      return null;
    }
  }

  private async call<T>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    options: { notFound?: T; timeoutMs?: number } = {},
  ): Promise<T> {
    const url = `${this.baseUrl}/api/v1/namespaces/${encodeURIComponent(this.namespace)}/${path}`;
    let response: { status: number; text: string };
    try {
      response = await request(
        url,
        method,
        body === undefined ? undefined : JSON.stringify(body),
        options.timeoutMs ?? 10_000,
      );
    } catch (error) {
      const cause = error as Error & { code?: string };
      if (cause.name === 'TimeoutError') {
        throw new DependencyUnavailableError(`Temporal's HTTP API at ${this.baseUrl} did not answer in time`);
      }
      throw new HttpApiUnusableError(cause.code ?? cause.message);
    }
    const { text } = response;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new HttpApiUnusableError(
        `${this.baseUrl} answered ${response.status} with something other than JSON`,
      );
    }
    if (response.status >= 200 && response.status < 300) return parsed as T;
    const failure = parsed as { code?: number; message?: string };
    if (typeof failure.code !== 'number') {
      throw new HttpApiUnusableError(
        `${this.baseUrl} answered ${response.status}, not as Temporal's HTTP API does`,
      );
    }
    if (failure.code === 5 && 'notFound' in options) {
      if (/namespace/i.test(failure.message ?? '')) throw namespaceMissing(this.namespace, failure.message);
      return options.notFound;
    }
    if (failure.code === 5) throw namespaceMissing(this.namespace, failure.message);
    if (failure.code === 4) {
      throw new DependencyUnavailableError(
        `Temporal's HTTP API at ${this.baseUrl}: ${failure.message ?? 'deadline exceeded'}`,
      );
    }
    throw new InvalidInputError(
      `Temporal refused the request: ${failure.message ?? `HTTP ${response.status}`}`,
    );
  }
}

function namespaceMissing(namespace: string, message: string | undefined): InvalidInputError {
  return new InvalidInputError(
    `${message ?? `namespace ${namespace} not found`}: set TEMPORAL_NAMESPACE to an existing namespace`,
  );
}

/**
 * One HTTP request with node:http (not `fetch`: loading undici costs a control command more than the
 * whole request does). Rejects with a `TimeoutError` after `timeoutMs`.
 */
function request(
  url: string,
  method: 'GET' | 'POST',
  body: string | undefined,
  timeoutMs: number,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const req = send(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => {
      const timeout = new Error(`no answer within ${timeoutMs} ms`);
      timeout.name = 'TimeoutError';
      req.destroy(timeout);
    });
    req.on('error', reject);
    req.end(body);
  });
}
