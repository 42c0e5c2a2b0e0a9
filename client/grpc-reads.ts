import type { SluiceConfig } from '../lib/config.js';
import { connectClient } from './connect.js';
import type { ControlReads } from './reads.js';
import { listModels } from './registry.js';
import { listRuns, runReport } from './run-queries.js';

/** The read path over gRPC: the SDK client (loaded by importing this module) and one connection. */
export async function openGrpcReads(config: SluiceConfig): Promise<ControlReads> {
  const client = await connectClient(config);
  return {
    transport: 'grpc',
    listRuns: (filter) => listRuns(client, filter),
    runReport: (runId) => runReport(client, config.temporal.namespace, runId),
    listModels: () => listModels(client),
    close: () => client.connection.close(),
  };
}
