import proto from '@temporalio/proto';
import { decryptPayload, encryptedWith } from '../client/codec.js';
import type { PayloadKeys } from '../lib/payload-keys.js';
import { AuditInputError } from './errors.js';
import { checkHistory, type History, type LoadedHistory, type Payload } from './history.js';

const { History: HistoryMessage } = proto.temporal.api.history.v1;

/**
 * The key ids of every encrypted payload in a history (inputs, results, signal and update arguments,
 * failure details, memos…): what it takes to read it.
 */
export function encryptionKeyIds(history: History): Set<string> {
  const ids = new Set<string>();
  mapPayloads(history, (payload) => {
    const id = encryptedWith(payload);
    if (id !== undefined) ids.add(id);
    return payload;
  });
  return ids;
}

/**
 * Refuse, in one line naming the file and the key, a history whose payloads are encrypted with a key
 * this process does not have: replaying it or reporting on it would fail half-way or show nothing.
 *
 * @throws AuditInputError for the first history that needs a missing key.
 */
export function requireKeys(
  histories: readonly { source: string; loaded: LoadedHistory }[],
  keys: PayloadKeys | undefined,
): void {
  for (const { source, loaded } of histories) {
    const missing = [...encryptionKeyIds(loaded.history)].filter((id) => !keys?.keys[id]);
    if (missing.length > 0) {
      throw new AuditInputError(
        `${source} holds payloads encrypted with key ${missing.map((id) => `"${id}"`).join(', ')}, which ${keys ? `SLUICE_PAYLOAD_KEYS (${Object.keys(keys.keys).join(', ')}) does not have` : 'cannot be read: SLUICE_PAYLOAD_KEYS is not set'}; set it to include that key`,
      );
    }
  }
}

/**
 * A decrypted copy of a history, for reading (reports, finding the registries a run wrote to). The
 * original stays as it is: exports keep the encrypted bytes the server stored.
 *
 * @throws PayloadKeyError when a payload's key is missing or its bytes do not authenticate.
 */
export function decryptHistory(loaded: LoadedHistory, keys: PayloadKeys | undefined): LoadedHistory {
  if (!keys || encryptionKeyIds(loaded.history).size === 0) return loaded;
  const copy = HistoryMessage.decode(
    HistoryMessage.encode(HistoryMessage.fromObject(loaded.history)).finish(),
  );
  mapPayloads(copy, (payload) => decryptPayload(payload, keys));
  return checkHistory(copy, loaded.source);
}

/**
 * Replace every payload inside `value` (a history or any part of it) with what `fn` returns: how a
 * history is decrypted for reading, and how tests encrypt a recorded one.
 */
export function mapPayloads(value: unknown, fn: (payload: Payload) => Payload): void {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return;
  const record = value as Record<string, unknown>;
  for (const [key, child] of Object.entries(record)) {
    if (isPayload(child)) record[key] = fn(child);
    else if (Array.isArray(child)) {
      child.forEach((item, i) => {
        if (isPayload(item)) child[i] = fn(item);
        else mapPayloads(item, fn);
      });
    } else mapPayloads(child, fn);
  }
}

function isPayload(value: unknown): value is Payload {
  if (typeof value !== 'object' || value === null) return false;
  const metadata = (value as { metadata?: unknown }).metadata;
  return (
    typeof metadata === 'object' &&
    metadata !== null &&
    ArrayBuffer.isView((metadata as Record<string, unknown>)['encoding']) &&
    'data' in value
  );
}
