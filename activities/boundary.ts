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

/** The details each running attempt last reported, so a keep-alive never overwrites a checkpoint. */
const lastDetails = new WeakMap<Context, unknown>();

/**
 * Report progress (a checkpoint to resume from) as the current attempt's heartbeat details. Use this
 * instead of `Context.current().heartbeat` in Sluice activities: the keep-alive repeats these details.
 */
export function heartbeat(details: unknown): void {
  const context = Context.current();
  lastDetails.set(context, details);
  context.heartbeat(details);
}

/**
 * While `work` runs, heartbeat at a third of the attempt's heartbeat timeout (at most every 10 s),
 * repeating the latest details (this attempt's, else the previous attempt's). Any activity whose
 * options carry a heartbeat timeout therefore shows a crashed worker within that timeout, rather than
 * after its start-to-close timeout, without heartbeating itself; one that checkpoints keeps its
 * checkpoint. A hung attempt is still bounded by its start-to-close timeout.
 */
async function keptAlive<R>(work: () => Promise<R>): Promise<R> {
  const context = Context.current();
  const timeout = context.info.heartbeatTimeoutMs;
  if (!timeout) return work();
  if (!lastDetails.has(context) && context.info.heartbeatDetails !== undefined) {
    lastDetails.set(context, context.info.heartbeatDetails);
  }
  const beat = setInterval(
    () => context.heartbeat(lastDetails.get(context)),
    Math.max(200, Math.min(10_000, timeout / 3)),
  );
  try {
    return await work();
  } finally {
    clearInterval(beat);
  }
}

/**
 * Wrap a step implementation: kept alive while it runs, failures through {@link toFailure}, and the
 * attempt that succeeded.
 */
export function stepActivity(fn: (input: StepInput) => Promise<JsonValue>): StepActivity {
  return async (input) => {
    try {
      const output = await keptAlive(() => fn(input));
      return { output, attempt: Context.current().info.attempt };
    } catch (error) {
      throw toFailure(error);
    }
  };
}

/**
 * Wrap an activity that is not a step (deploy, monitor, registry helpers) in the same boundary: kept
 * alive while it runs; SluiceErrors cross the wire as non-retryable ApplicationFailures, anything
 * else is retried.
 */
export function withFailureBoundary<A, R>(fn: (arg: A) => Promise<R>): (arg: A) => Promise<R> {
  return async (arg) => {
    try {
      return await keptAlive(() => fn(arg));
    } catch (error) {
      throw toFailure(error);
    }
  };
}
