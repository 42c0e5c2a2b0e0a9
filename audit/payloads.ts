import type proto from '@temporalio/proto';
import type { JsonValue } from '../pipelines/json.js';
import type { Payload } from './history.js';

export type Payloads = proto.temporal.api.common.v1.IPayloads;

/** A payload's value, or why it could not be read (an encoding the audit tools do not decode). */
export type Decoded = { ok: true; value: JsonValue } | { ok: false; reason: string };

const text = new TextDecoder('utf-8', { fatal: true });

/** A payload metadata entry as text (`encoding` → `json/plain`). */
export function metadataText(payload: Payload | null | undefined, key: string): string | undefined {
  const bytes = payload?.metadata?.[key];
  if (!bytes) return undefined;
  try {
    return text.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Decode one payload the way Temporal's default data converter wrote it: `json/plain` and
 * `json/protobuf` as JSON, `binary/null` as `null`. Anything else (raw bytes, an encrypted payload
 * without its codec) is reported with its encoding rather than guessed at, so a report says what it
 * could not read instead of showing wrong values.
 */
export function decodePayload(payload: Payload | null | undefined): Decoded {
  if (!payload) return { ok: true, value: null };
  const encoding = metadataText(payload, 'encoding') ?? '(no encoding)';
  const data = payload.data ?? new Uint8Array();
  switch (encoding) {
    case 'binary/null':
      return { ok: true, value: null };
    case 'json/plain':
    case 'json/protobuf':
      try {
        return { ok: true, value: JSON.parse(text.decode(data)) as JsonValue };
      } catch (error) {
        return { ok: false, reason: `${encoding} payload that is not JSON (${(error as Error).message})` };
      }
    default:
      return { ok: false, reason: `${encoding} payload of ${data.length} bytes` };
  }
}

/** Every payload of a `Payloads` list, decoded. */
export function decodePayloads(payloads: Payloads | null | undefined): Decoded[] {
  return (payloads?.payloads ?? []).map(decodePayload);
}

/** The first payload's value when it decodes, else `undefined` (the caller says what is missing). */
export function firstValue(payloads: Payloads | null | undefined): JsonValue | undefined {
  const [first] = decodePayloads(payloads);
  return first?.ok ? first.value : undefined;
}
