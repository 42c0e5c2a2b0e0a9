import type { JsonValue } from '../pipelines/json.js';
import type { HistoryFacts } from './history-facts.js';
import { field, isObject, text } from './json-read.js';
import type { MessageReport } from './report-types.js';

/** A decision or refusal as the workflow recorded it, to pair with the message that carried it. */
export interface RecordedDecision {
  approver: string;
  decision: string;
  modelVersion: string;
  channel: string;
  reason?: string;
}

/**
 * Every signal and update a workflow received, in history order, with who sent it and what became
 * of it. An update's outcome is in history itself (its result, or the failure the handler threw: a
 * refusal's reason). A signal has no reply, so its outcome is found among the decisions and refusals
 * the workflow recorded; `finished` says whether that record (the final status) exists.
 */
export function messageReports(
  facts: HistoryFacts,
  recorded: readonly RecordedDecision[],
  finished: boolean,
): MessageReport[] {
  const unmatched = recorded.filter((r) => r.channel === 'signal');
  const signals: MessageReport[] = facts.signals.map((signal) => {
    const content = signal.args[0]?.ok ? signal.args[0].value : null;
    const actor = actorOf(content);
    let outcome = finished ? 'received' : 'received (recorded when the run ends)';
    const index = unmatched.findIndex(
      (r) =>
        r.approver === actor &&
        r.decision === text(field(content, 'decision')) &&
        r.modelVersion === (text(field(content, 'modelVersion')) ?? ''),
    );
    const match = index >= 0 ? unmatched.splice(index, 1)[0] : undefined;
    if (match) outcome = match.reason === undefined ? 'accepted' : `refused: ${match.reason}`;
    return {
      at: signal.at,
      eventId: signal.eventId,
      kind: 'signal',
      name: signal.name,
      sender: signal.identity,
      actor,
      content,
      outcome,
    };
  });
  const updates: MessageReport[] = facts.updates.map((update) => {
    const content = update.args[0]?.ok ? update.args[0].value : null;
    const outcome = update.outcome;
    return {
      at: update.at,
      eventId: update.eventId,
      kind: 'update',
      name: update.name,
      sender: update.identity,
      actor: actorOf(content),
      content,
      outcome:
        outcome === null
          ? 'accepted, not finished when the history was taken'
          : outcome.ok
            ? `accepted${resultNote(outcome.result)}`
            : `refused: ${outcome.failure.message}`,
    };
  });
  return [...signals, ...updates].sort((a, b) => a.eventId - b.eventId);
}

/** Who a message speaks for: an approver, or the `by` of a registry request. */
function actorOf(content: JsonValue): string | null {
  if (!isObject(content)) return null;
  return text(content['approver']) ?? text(content['by']) ?? text(content['registeredBy']);
}

/** A short note of an update's result, its numbers and flags only: `version 3, created true`. */
function resultNote(result: JsonValue | undefined): string {
  if (!isObject(result)) return '';
  const parts = Object.entries(result)
    .flatMap(([k, v]) => (typeof v === 'number' || typeof v === 'boolean' ? [`${k} ${v}`] : []))
    .slice(0, 4);
  return parts.length ? ` (${parts.join(', ')})` : '';
}
