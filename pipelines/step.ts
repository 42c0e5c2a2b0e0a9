import type { JsonObject, JsonValue } from './json.js';
import type { TriggerKind } from './search-attributes.js';

/** Which run a step belongs to; enough to name outputs and to trace them back in an audit. */
export interface RunContext {
  pipeline: string;
  workflowId: string;
  runId: string;
  trigger: TriggerKind;
  /** The pipeline file the spec was loaded from, for messages that point at it. */
  file?: string;
}

/** What every step activity receives: its own params, the run's params and its dependencies' outputs. */
export interface StepInput {
  run: RunContext;
  step: string;
  params: JsonObject;
  runParams: Record<string, string | number | boolean>;
  inputs: Record<string, JsonValue>;
}

/** What every step activity returns through the activity boundary. */
export interface StepResult {
  output: JsonValue;
  /** The attempt that succeeded (1 = first try). */
  attempt: number;
}

/** The shape the DAG workflow calls: one JSON input, one JSON result. */
export type StepActivity = (input: StepInput) => Promise<StepResult>;
