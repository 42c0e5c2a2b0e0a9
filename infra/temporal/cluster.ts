import { createServer, Socket } from 'node:net';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import proto from '@temporalio/proto';
import { sluiceSearchAttributes } from '../../pipelines/search-attributes.js';
import { splitAddress } from '../../lib/config.js';

/** What answers at an address: a Temporal frontend, something else, or nothing. */
export type Probe =
  { kind: 'temporal'; serverVersion: string } | { kind: 'other'; reason: string } | { kind: 'closed' };

/** Find out, within `timeoutMs`, whether a Temporal server answers at `address`. Never throws. */
export async function probeTemporal(address: string, timeoutMs = 3_000): Promise<Probe> {
  const { host, port } = splitAddress(address);
  if (!(await portOpen(host, port, timeoutMs))) return { kind: 'closed' };
  // A lazy connection is always closable: a failed eager connect would leave a channel retrying forever.
  const connection = Connection.lazy({ address, connectTimeout: timeoutMs });
  try {
    const info = await connection.withDeadline(Date.now() + timeoutMs, () =>
      connection.workflowService.getSystemInfo({}),
    );
    return { kind: 'temporal', serverVersion: info.serverVersion || 'unknown' };
  } catch (error) {
    return { kind: 'other', reason: (error as Error).message.split('\n')[0] ?? 'no gRPC answer' };
  } finally {
    await connection.close();
  }
}

/** Whether something accepts TCP connections on host:port. */
export function portOpen(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.connect(port, host);
  });
}

/** A TCP port nothing listens on right now on `host`. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Make a cluster ready for Sluice: the namespace exists and Sluice's search attributes are registered.
 * Idempotent; used for the dev server, an existing cluster and a server built without the CLI.
 */
export async function ensureNamespaceReady(
  connection: Pick<Connection, 'workflowService' | 'operatorService'>,
  namespace: string,
): Promise<void> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
  } catch (error) {
    if ((error as { code?: number }).code !== 5 /* NOT_FOUND */) throw error;
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs('7d'),
    });
  }
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set([
    ...Object.keys(existing.customAttributes ?? {}),
    ...Object.keys(existing.systemAttributes ?? {}),
  ]);
  const missing = sluiceSearchAttributes.filter((key) => !known.has(key.name));
  if (missing.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(
      missing.map((key) => [
        key.name,
        proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      ]),
    ),
  });
}
