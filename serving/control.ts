import type { Client } from '@temporalio/client';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { submitDecision } from '../client/approvals.js';
import type { ApprovalSignature } from '../pipelines/signing.js';
import { answered, promoteModel, RegistryRefusedError, rollbackModel } from '../client/registry.js';
import { triggerOnData } from '../client/runs.js';
import { DependencyUnavailableError, PermissionDeniedError, SluiceError } from '../pipelines/errors.js';
import { promoterRole, type PromoteInput } from '../pipelines/registry.js';
import type { PipelineSpec } from '../pipelines/spec.js';
import type { SluiceConfig } from '../lib/config.js';
import type { Log } from '../worker/logging.js';
import type { Guard } from './guard.js';
import { ServingRequestError } from '../lib/http-error.js';

/** What the control routes need: a Temporal client, and the pipelines events may start. */
export interface ControlOptions {
  client: Client;
  config: SluiceConfig;
  /** Pipelines `POST /v1/events` may start, by id: chosen by the operator, never loaded from a request. */
  pipelines: readonly PipelineSpec[];
}

/** `POST /v1/models/<model>:promote` and `:rollback`, dispatched by the server's model-action route. */
export interface ModelActions {
  promote(model: string, request: FastifyRequest): Promise<Record<string, unknown>>;
  rollback(model: string, request: FastifyRequest): Promise<Record<string, unknown>>;
}

const text = (max: number) => z.string().trim().min(1).max(max);

const eventBody = z.strictObject({
  pipeline: text(200),
  event: z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/, 'a name of up to 100 letters, digits, . _ : -'),
  data: text(4096),
  params: z.record(z.string().max(200), z.string().max(4096)).optional(),
});

const approvalBody = z.strictObject({
  decision: z.enum(['approve', 'reject']),
  modelVersion: text(200).optional(),
  comment: z.string().max(2000).optional(),
  signal: z.boolean().optional(),
  /** Made by the approver's own key (a browser, `sluice sign`); the server never sees a private key. */
  signature: z
    .strictObject({
      keyId: text(100),
      at: text(100),
      value: text(200),
      workflowId: text(300).optional(),
      runId: text(100).optional(),
      metricsDigest: text(100).optional(),
    })
    .optional(),
});

const promoteBody = z.strictObject({
  version: z.number().int().min(1).max(1e9),
  reason: text(2000),
  approvedRun: text(300).optional(),
});

const rollbackBody = z.strictObject({ reason: text(2000) });

/**
 * The state-changing HTTP routes: `POST /v1/events` (start a pipeline on new data), `POST
 * /v1/runs/:run/approvals` (approve or reject as the token's identity) and `POST
 * /v1/models/<model>:promote|:rollback`. Each needs a bearer token with its role; each goes through
 * the same code as the CLI, so the pipeline's approval policy and the registry's rules decide, and
 * every decision lands in a workflow history with the token's identity — never the token.
 */
export function registerControlRoutes(
  app: FastifyInstance,
  guard: Guard,
  options: ControlOptions,
  log: Log,
): ModelActions {
  const { client, config } = options;
  const pipelines = new Map(options.pipelines.map((spec) => [spec.id, spec]));

  app.post('/v1/events', async (request, reply) => {
    const caller = await guard.require(request, 'trigger', 'start a pipeline');
    const body = parse(
      eventBody,
      request.body,
      'POST /v1/events',
      '{"pipeline": "<id>", "event": "<name>", "data": "<path>"}',
    );
    const spec = pipelines.get(body.pipeline);
    if (!spec) {
      throw new ServingRequestError(
        404,
        'UNKNOWN_PIPELINE',
        pipelines.size === 0
          ? `this server accepts events for no pipeline: start it with \`sluice serve --pipeline ${body.pipeline}\``
          : `pipeline "${body.pipeline}" does not take events here: use one of ${[...pipelines.keys()].join(', ')}`,
      );
    }
    const result = await mapped(() =>
      triggerOnData(client, config, spec, {
        event: body.event,
        data: body.data,
        params: body.params ?? {},
        // The identity alone: separation of duties compares it with the approver's, exactly.
        startedBy: caller.identity,
      }),
    );
    log.info({ identity: caller.identity, tokenId: caller.tokenId, ...result }, 'event');
    return reply.code(result.started ? 201 : 200).send(result);
  });

  app.post<{ Params: { run: string } }>('/v1/runs/:run/approvals', async (request, reply) => {
    const caller = await guard.require(request, 'approver', 'decide an approval');
    const body = parse(
      approvalBody,
      request.body,
      'POST /v1/runs/<run>/approvals',
      '{"decision": "approve", "modelVersion": "<from the run status>"}',
    );
    const outcome = await mapped(() =>
      submitDecision(client, config.temporal.namespace, request.params.run, {
        approver: caller.identity,
        decision: body.decision,
        ...(body.modelVersion ? { modelVersion: body.modelVersion } : {}),
        ...(body.comment ? { comment: body.comment } : {}),
        ...(body.signal ? { signal: true } : {}),
        ...(body.signature ? { signature: definedOnly(body.signature) } : {}),
      }),
    );
    log.info(
      { identity: caller.identity, tokenId: caller.tokenId, run: request.params.run, sent: outcome.sent },
      'approval decision',
    );
    return reply.code(outcome.sent === 'signal' ? 202 : 200).send(outcome);
  });

  const promote = async (model: string, caller: { identity: string }, raw: unknown) => {
    const body = parse(
      promoteBody,
      raw,
      `POST /v1/models/${model}:promote`,
      '{"version": 3, "reason": "<why>"}',
    );
    const input: PromoteInput = body.approvedRun
      ? {
          version: body.version,
          by: caller.identity,
          reason: body.reason,
          authorisedBy: 'approved-run',
          approvedRun: body.approvedRun,
        }
      : {
          version: body.version,
          by: caller.identity,
          reason: body.reason,
          authorisedBy: `role:${promoterRole}`,
          roleMembers: [caller.identity],
        };
    return mapped(() => answered(client, config, model, 'update', () => promoteModel(client, model, input)));
  };
  const rollback = async (model: string, caller: { identity: string }, raw: unknown) => {
    const body = parse(rollbackBody, raw, `POST /v1/models/${model}:rollback`, '{"reason": "<why>"}');
    return mapped(() =>
      answered(client, config, model, 'update', () =>
        rollbackModel(client, model, {
          by: caller.identity,
          reason: body.reason,
          authorisedBy: `role:${promoterRole}`,
          roleMembers: [caller.identity],
        }),
      ),
    );
  };

  return {
    async promote(model, request) {
      const caller = await guard.require(request, 'promoter', 'promote a model');
      const result = await promote(model, caller, request.body);
      log.info({ identity: caller.identity, tokenId: caller.tokenId, model, ...result }, 'promoted');
      return { model, ...result };
    },
    async rollback(model, request) {
      const caller = await guard.require(request, 'promoter', 'roll back a model');
      const result = await rollback(model, caller, request.body);
      log.info({ identity: caller.identity, tokenId: caller.tokenId, model, ...result }, 'rolled back');
      return { model, ...result };
    },
  };
}

function parse<T>(schema: z.ZodType<T>, body: unknown, route: string, example: string): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
  throw new ServingRequestError(400, 'BAD_REQUEST', `${route}: ${issues.join('; ')}; send ${example}`);
}

/** Sluice's errors as HTTP answers: refusals 403, bad input 400, nothing answering 503. */
async function mapped<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ServingRequestError || !(error instanceof SluiceError)) throw error;
    const status =
      error instanceof PermissionDeniedError || error instanceof RegistryRefusedError
        ? 403
        : error instanceof DependencyUnavailableError
          ? 503
          : 400;
    throw new ServingRequestError(status, error.code, error.message, { cause: error });
  }
}

/** A parsed signature without the optional fields it left out (exact optional property types). */
function definedOnly(signature: {
  keyId: string;
  at: string;
  value: string;
  workflowId?: string | undefined;
  runId?: string | undefined;
  metricsDigest?: string | undefined;
}): ApprovalSignature {
  return Object.fromEntries(
    Object.entries(signature).filter(([, value]) => value !== undefined),
  ) as ApprovalSignature;
}
