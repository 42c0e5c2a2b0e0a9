import { Client, Connection } from '@temporalio/client';
import { DependencyUnavailableError } from '../pipelines/errors.js';
import type { SluiceConfig } from '../lib/config.js';
import { payloadConverter } from './codec.js';

/**
 * A Temporal client for `config` (encrypting payloads when `SLUICE_PAYLOAD_KEYS` is set), failing
 * fast with the fix when nothing answers (instead of the SDK's long retry loop).
 */
export async function connectClient(config: SluiceConfig): Promise<Client> {
  const connection = Connection.lazy({ address: config.temporal.address, connectTimeout: 5_000 });
  try {
    await connection.withDeadline(Date.now() + 5_000, () => connection.workflowService.getSystemInfo({}));
  } catch (error) {
    await connection.close();
    throw new DependencyUnavailableError(
      `cannot reach Temporal at ${config.temporal.address} (${(error as Error).message.split('\n')[0]}): ` +
        'start one with `npx sluice dev` or set TEMPORAL_ADDRESS to a running cluster',
      { cause: error },
    );
  }
  const dataConverter = payloadConverter(config.payloadKeys);
  return new Client({
    connection,
    namespace: config.temporal.namespace,
    ...(dataConverter ? { dataConverter } : {}),
  });
}
