import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { SluiceError } from '../pipelines/errors.js';
import type { JsonValue } from '../pipelines/json.js';
import type { StepActivity, StepInput } from '../pipelines/step.js';

/**
 * The one place activity errors cross the wire (STYLE.md): a `SluiceError` becomes an
 * `ApplicationFailure` whose `type` is the error's class name, non-retryable unless the error says
 * otherwise, with its details attached. Anything else is rethrown untouched, so Temporal retries it.
 */
export function toFailure(error: unknown): unknown {
  if (error instanceof SluiceError) {
    return ApplicationFailure.create({
      type: error.name,
      message: error.message,
      nonRetryable: !error.retryable,
      details: [{ code: error.code, ...error.details }],
    });
  }
  return error;
}

/** Wrap a step implementation: failures through {@link toFailure}, and the attempt that succeeded. */
export function stepActivity(fn: (input: StepInput) => Promise<JsonValue>): StepActivity {
  return async (input) => {
    try {
      const output = await fn(input);
      return { output, attempt: Context.current().info.attempt };
    } catch (error) {
      throw toFailure(error);
    }
  };
}

/**
 * Wrap an activity that is not a step (deploy, monitor, registry helpers) in the same boundary:
 * SluiceErrors cross the wire as non-retryable ApplicationFailures, anything else is retried.
 */
export function withFailureBoundary<A, R>(fn: (arg: A) => Promise<R>): (arg: A) => Promise<R> {
  return async (arg) => {
    try {
      return await fn(arg);
    } catch (error) {
      throw toFailure(error);
    }
  };
}
