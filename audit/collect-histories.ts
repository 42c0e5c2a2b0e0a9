import { isGrpcServiceError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { PayloadKeys } from '../lib/payload-keys.js';
import { decryptHistory, requireKeys } from './encrypted-history.js';
import { AuditInputError } from './errors.js';
import { historyFacts, type HistoryFacts } from './history-facts.js';
import { checkHistory, type LoadedHistory } from './history.js';
import type { ExportedHistory } from './manifest.js';

/** One history gathered for an export or a live report, with why it belongs. */
export interface CollectedHistory {
  loaded: LoadedHistory;
  facts: HistoryFacts;
  role: ExportedHistory['role'];
  relatedTo: string | null;
}

/** What to collect: workflow ids, or a visibility query (`SluicePipeline = "churn"`). */
export type Selection = { runs: string[] } | { query: string };

/**
 * Gather the histories an auditor needs for the selected runs: each run's latest execution, every
 * child workflow it started (from its `StartChildWorkflowExecutionInitiated` events and from a
 * `ParentWorkflowId` visibility query, recursively), and the history of every model registry
 * (`registry/<model>`) a `registerModel` step wrote to — back along the registry's continue-as-new
 * chain to the execution that was open when the run started. Encrypted histories need their keys
 * (`keys`) to be read; they are collected as the server stored them.
 *
 * @throws AuditInputError for an unknown run id or a query that matches nothing.
 */
export async function collectHistories(
  client: Client,
  selection: Selection,
  keys?: PayloadKeys,
): Promise<CollectedHistory[]> {
  const roots = await resolveSelection(client, selection);
  const collected: CollectedHistory[] = [];
  const seen = new Set<string>();
  const add = async (
    workflowId: string,
    runId: string | undefined,
    role: CollectedHistory['role'],
    relatedTo: string | null,
  ): Promise<CollectedHistory | undefined> => {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const loaded = checkHistory(history, runId ? `${workflowId} (run ${runId})` : workflowId);
    const key = `${workflowId}\u0000${loaded.runId}`;
    if (seen.has(key)) return undefined;
    seen.add(key);
    // Facts (children, registries) are read from a decrypted copy; the export keeps what the server stored.
    requireKeys([{ source: loaded.source, loaded }], keys);
    const item: CollectedHistory = {
      loaded,
      facts: historyFacts(decryptHistory(loaded, keys)),
      role,
      relatedTo,
    };
    item.facts.workflowId ||= workflowId;
    collected.push(item);
    return item;
  };

  for (const root of roots) {
    const run = await add(root.workflowId, root.runId, 'run', null);
    if (!run) continue;
    const pending = [run];
    while (pending.length > 0) {
      const parent = pending.shift() as CollectedHistory;
      for (const child of await childrenOf(client, parent.facts)) {
        const item = await add(child.workflowId, child.runId, 'child', parent.facts.workflowId);
        if (item) pending.push(item);
      }
    }
    for (const model of registeredModels(collected.filter((c) => c.role !== 'registry'))) {
      await addRegistryChain(`registry/${model}`, run.facts.startedAt, run.facts.workflowId, add);
    }
  }
  return collected;
}

async function resolveSelection(
  client: Client,
  selection: Selection,
): Promise<{ workflowId: string; runId: string }[]> {
  if ('query' in selection) {
    const found: { workflowId: string; runId: string }[] = [];
    try {
      for await (const info of client.workflow.list({ query: selection.query })) {
        found.push({ workflowId: info.workflowId, runId: info.runId });
      }
    } catch (error) {
      throw new AuditInputError(
        `visibility query ${JSON.stringify(selection.query)} was refused: ${(error as Error).message.split('\n')[0] ?? ''}`,
        { cause: error },
      );
    }
    if (found.length === 0) {
      throw new AuditInputError(
        `visibility query ${JSON.stringify(selection.query)} matches no runs: check it with \`sluice runs\` or the Web UI`,
      );
    }
    return found;
  }
  return Promise.all(
    selection.runs.map(async (workflowId) => {
      try {
        const description = await client.workflow.getHandle(workflowId).describe();
        return { workflowId, runId: description.runId };
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) {
          throw new AuditInputError(
            `no run "${workflowId}" in namespace ${client.options.namespace}: list runs with \`sluice runs\``,
            { cause: error },
          );
        }
        throw error;
      }
    }),
  );
}

/** Children from the parent's own events, plus any the visibility store knows (e.g. started by a child). */
async function childrenOf(
  client: Client,
  facts: HistoryFacts,
): Promise<{ workflowId: string; runId?: string }[]> {
  const children = new Map<string, string | undefined>();
  for (const child of facts.children) children.set(child.workflowId, child.runId ?? undefined);
  const query = `ParentWorkflowId = ${JSON.stringify(facts.workflowId)} AND ParentRunId = ${JSON.stringify(facts.runId)}`;
  for await (const info of client.workflow.list({ query })) {
    if (!children.has(info.workflowId)) children.set(info.workflowId, info.runId);
  }
  return [...children].map(([workflowId, runId]) => (runId ? { workflowId, runId } : { workflowId }));
}

/** Models the runs registered: the `{ model }` output of every completed `registerModel` step. */
export function registeredModels(histories: { facts: HistoryFacts }[]): string[] {
  const models = new Set<string>();
  for (const { facts } of histories) {
    for (const activity of facts.activities) {
      if (activity.type !== 'registerModel' || activity.outcome !== 'completed') continue;
      const result = activity.result;
      const output = isRecord(result) ? result['output'] : undefined;
      const model = isRecord(output) ? output['model'] : undefined;
      if (typeof model === 'string' && model !== '') models.add(model);
    }
  }
  return [...models].sort();
}

/** The registry's latest execution and, through `continuedExecutionRunId`, each one back to `since`. */
async function addRegistryChain(
  workflowId: string,
  since: string | null,
  relatedTo: string,
  add: (
    workflowId: string,
    runId: string | undefined,
    role: CollectedHistory['role'],
    relatedTo: string | null,
  ) => Promise<CollectedHistory | undefined>,
): Promise<void> {
  let runId: string | undefined;
  for (;;) {
    let item: CollectedHistory | undefined;
    try {
      item = await add(workflowId, runId, 'registry', relatedTo);
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    if (!item) return;
    const previous = item.facts.continuedFromRunId;
    const startedAt = item.facts.startedAt;
    if (!previous || (since !== null && startedAt !== null && startedAt <= since)) return;
    runId = previous;
  }
}

/** The workflow (or that run of it) does not exist: `describe` and `getWorkflowExecutionHistory` say so differently. */
function isNotFound(error: unknown): boolean {
  const grpcNotFound = 5;
  return (
    error instanceof WorkflowNotFoundError ||
    (isGrpcServiceError(error) && Number(error.code) === grpcNotFound)
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
