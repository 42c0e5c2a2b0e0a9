import {
  ConfigurationError,
  DataValidationError,
  DependencyUnavailableError,
  InvalidInputError,
  PermissionDeniedError,
  PipelineDefinitionError,
  SluiceError,
} from '../../pipelines/errors.js';
import type { TrainOutcome } from './train-core.js';

/** The hooks of `TrainHooks` that the training thread calls on the activity's thread and awaits. */
export type HookName = 'resume' | 'onEpoch' | 'resumeTrees' | 'onRounds';

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  sluice?: { code: string; retryable: boolean; details: Record<string, unknown> };
}

/** From the training thread to the activity's thread. */
export type ThreadMessage =
  | { type: 'call'; id: number; hook: HookName; args: unknown[] }
  | { type: 'batch' }
  | { type: 'done'; outcome: TrainOutcome }
  | { type: 'failed'; error: SerializedError };

/** The activity thread's answer to a `call`. */
export type ThreadReply = { id: number; value?: unknown; error?: SerializedError };

/** An error as it crosses between threads: a SluiceError keeps its class name, code and retryability. */
export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const base = { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
  if (error instanceof SluiceError) {
    return { ...base, sluice: { code: error.code, retryable: error.retryable, details: error.details } };
  }
  return base;
}

/** A SluiceError from the thread, rebuilt so the activity boundary reports it as the thread threw it. */
class ThreadSluiceError extends SluiceError {
  readonly code: string;
  readonly retryable: boolean;
  constructor(error: SerializedError & { sluice: NonNullable<SerializedError['sluice']> }) {
    super(error.message, { details: error.sluice.details });
    this.code = error.sluice.code;
    this.retryable = error.sluice.retryable;
    this.name = error.name;
  }
}

/** The error classes training throws, rebuilt as themselves (so `instanceof` holds across the thread). */
const known = {
  ConfigurationError,
  DataValidationError,
  DependencyUnavailableError,
  InvalidInputError,
  PermissionDeniedError,
  PipelineDefinitionError,
} as const;

export function reviveError(error: SerializedError): Error {
  const Known = Object.hasOwn(known, error.name) ? known[error.name as keyof typeof known] : undefined;
  const revived = error.sluice
    ? Known
      ? new Known(error.message, { details: error.sluice.details })
      : new ThreadSluiceError({ ...error, sluice: error.sluice })
    : Object.assign(new Error(error.message), { name: error.name });
  if (error.stack) revived.stack = error.stack;
  return revived;
}
