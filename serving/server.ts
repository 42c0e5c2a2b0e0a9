import { randomUUID } from 'node:crypto';
import type * as tfType from '@tensorflow/tfjs';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { ArtifactStorage } from '../lib/artifacts/index.js';
import type { Log } from '../worker/logging.js';
import { registerConsole } from './console/routes.js';
import { registerControlRoutes, type ControlOptions, type ModelActions } from './control.js';
import { FeedbackLog, parseFeedback } from '../lib/feedback-log.js';
import type { Guard } from './guard.js';
import { ServingRequestError } from '../lib/http-error.js';
import type { LoadedModel, Prediction } from '../lib/model/loaded-model.js';
import type { FeatureInputs } from '../lib/model/transform-online.js';
import { ServingExplainers, wantsExplanation, type ExplanationsBody } from './explain.js';
import { labelPredictions } from '../lib/model/prediction-format.js';
import { createServingMetrics, type ServingMetrics } from './metrics.js';
import { ModelPool, type DeploymentOptions, type RegistryReader, type Route } from './model-pool.js';
import { PredictionLog, type PredictionLogOptions } from '../lib/prediction-log.js';
import { predictAnswerJson } from './predict-answer.js';
import { validateInstances } from './validate-instances.js';
import { scoreRows } from './score-batcher.js';
import { versionSeries } from './metrics.js';

/** Everything a server needs, passed in (config is parsed once by the caller). */
export interface ServingServerOptions {
  tf: typeof tfType;
  store: ArtifactStorage;
  registry: RegistryReader;
  log: Log;
  deployments: DeploymentOptions[];
  /** Largest request body in bytes; larger ones get 413. */
  bodyLimit: number;
  predictionLog: PredictionLogOptions;
  /** How often the registry is re-read for new aliases; 0 turns polling off. Default 5 000 ms. */
  pollMs?: number;
  /** Node process metrics in `/metrics`. Default true. */
  processMetrics?: boolean;
  /** Bearer tokens, roles and rate limits: every state-changing route goes through it. */
  guard: Guard;
  /** Whether predict needs a token with role `predict` (else it is open, limited per address). */
  predictAuth?: boolean;
  /** The control routes (events, approvals, promote, rollback); absent: they answer 404. */
  control?: ControlOptions;
}

/** A running (or ready to listen) server and the parts tests and the CLI reach into. */
export interface ServingServer {
  app: FastifyInstance;
  pool: ModelPool;
  predictionLog: PredictionLog;
  metrics: ServingMetrics;
  /** Listen; resolves to the base URL. */
  listen(host: string, port: number): Promise<string>;
  /** Stop accepting, let in-flight requests answer, flush the log. */
  close(): Promise<void>;
}

/**
 * Build the prediction server (`sluice serve`): TF Serving-style routes on Fastify, models loaded by
 * registry alias and hash-verified, every scored row pushed to the prediction log. The first registry
 * read happens here, so a server that starts with its production models loaded is ready at once; one
 * whose registry is unreachable still starts and reports not ready until a poll succeeds.
 */
export async function createServingServer(options: ServingServerOptions): Promise<ServingServer> {
  const { log, guard } = options;
  const metrics = createServingMetrics(options.processMetrics ?? true);
  const pool = new ModelPool(options.tf, options.store, options.registry, log, metrics, options.deployments);
  const predictionLog = new PredictionLog(options.predictionLog, log, metrics);
  const feedback = new FeedbackLog(
    options.predictionLog.dir,
    options.predictionLog.shared,
    options.predictionLog.replica,
  );
  const app = Fastify({
    bodyLimit: options.bodyLimit,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && given.length > 0 && given.length <= 200 ? given : randomUUID();
    },
    logger: false,
  });

  app.setErrorHandler((error: FastifyError | ServingRequestError, request, reply) => {
    if (error instanceof ServingRequestError) {
      return reply
        .code(error.statusCode)
        .headers(error.headers)
        .send({ error: { code: error.code, message: error.message } });
    }
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      log.error({ err: error, url: request.url, requestId: request.id }, 'request failed');
      return reply.code(status).send({
        error: {
          code: 'INTERNAL',
          message: `internal error; see the server log for request ${request.id}`,
        },
      });
    }
    const message = /prototype property/i.test(error.message)
      ? 'the body has a "__proto__" or "constructor.prototype" key, which is refused: remove it; send {"instances": [{...}]}'
      : error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? `request body over the ${options.bodyLimit}-byte limit; send fewer instances per request (or raise SLUICE_SERVE_BODY_LIMIT)`
        : error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'send the body as JSON with Content-Type: application/json'
          : status === 400 && /JSON/i.test(error.message)
            ? `the body is not valid JSON (${error.message}); send {"instances": [{...}]}`
            : error.message;
    return reply.code(status).send({ error: { code: error.code || 'BAD_REQUEST', message } });
  });
  // JSON only: Fastify's default text/plain parser would hand a string to every route.
  app.removeContentTypeParser('text/plain');
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: {
        code: 'NOT_FOUND',
        message: `no route ${request.method} ${request.url}; use POST /v1/models/<model>:predict, GET /v1/models/<model>, POST /v1/feedback, POST /v1/events, POST /v1/runs/<run>/approvals, POST /v1/models/<model>:promote|:rollback, /console/, /healthz, /readyz, /metrics`,
      },
    }),
  );

  const explainers = new ServingExplainers(options.store);
  const seriesOf = versionSeries(metrics);
  /**
   * A predict request's answer. Synchronous when nothing needs waiting for (a model scored at once, no
   * explanations): the common request pays no promise hops.
   */
  const predict = (
    model: string,
    version: number | undefined,
    body: unknown,
    requestId: string,
    explain = false,
  ): string | Promise<string> => {
    const started = performance.now();
    let route: Route | undefined;
    let waiting = false;
    try {
      route = pool.route(model, requestId, version);
      const rows = validateInstances(body, route.primary.manifest);
      const scored = scoreRows(route.primary, rows);
      if (!explain && !(scored instanceof Promise)) {
        return answer(route, model, requestId, body, rows, scored, undefined, started);
      }
      const held = route;
      waiting = true;
      return (async () => {
        try {
          const predictions = await scored;
          // ?explain=true (serving/explain.ts): exact contributions, or a 400 for a model without an explainer.
          const explanations = explain ? await explainers.explain(held.primary, rows) : undefined;
          return answer(held, model, requestId, body, rows, predictions, explanations, started);
        } catch (error) {
          failed(error, model, held);
          throw error;
        } finally {
          held.primary.release();
        }
      })();
    } catch (error) {
      failed(error, model, route);
      throw error;
    } finally {
      if (!waiting) route?.primary.release();
    }
  };

  /** Count, log and answer a scored request (the route is still held). */
  const answer = (
    route: Route,
    model: string,
    requestId: string,
    body: unknown,
    rows: FeatureInputs[],
    predictions: Prediction[],
    explanations: ExplanationsBody | undefined,
    started: number,
  ): string => {
    const series = seriesOf(route.primary);
    series.requests[route.role].inc();
    series.latency.observe((performance.now() - started) / 1000);
    const timeMs = Date.now();
    predictionLog.appendScored(route.primary, route.role, requestId, rows, predictions, timeMs);
    if (route.shadow) scoreShadow(route.shadow, requestId, body, timeMs);
    if (!explanations) return predictAnswerJson(route.primary, model, requestId, predictions);
    return JSON.stringify({
      model,
      version: route.primary.version,
      requestId,
      predictions: labelPredictions(route.primary.manifest.transform.label, predictions),
      explanations,
    });
  };

  /** A predict that failed: counted by code; a shadow it held is let go. */
  const failed = (error: unknown, model: string, route: Route | undefined) => {
    const code = error instanceof ServingRequestError ? error.code : 'INTERNAL';
    const served = pool.models.includes(model) ? model : 'unknown';
    metrics.errors.inc({ model: served, version: route ? String(route.primary.version) : 'none', code });
    route?.shadow?.release();
  };

  /** The shadow scores after the answer is sent, so it adds no latency; its failures only log. */
  const scoreShadow = (shadow: LoadedModel, requestId: string, body: unknown, timeMs: number) =>
    setImmediate(() => {
      try {
        // The shadow reads the request itself: its features may be computed from other columns.
        const rows = validateInstances(body, shadow.manifest);
        const predictions = shadow.predict(rows);
        seriesOf(shadow).requests.shadow.inc();
        predictionLog.appendScored(shadow, 'shadow', requestId, rows, predictions, timeMs);
      } catch (error) {
        metrics.errors.inc({ model: shadow.model, version: String(shadow.version), code: 'SHADOW_FAILED' });
        log.warn({ err: error, model: shadow.model, version: shadow.version }, 'shadow scoring failed');
      } finally {
        shadow.release();
      }
    });

  const actions: ModelActions | undefined = options.control
    ? registerControlRoutes(app, guard, options.control, log)
    : undefined;
  // The console (docs/console.md): pages under /console on this app, with the same tokens and roles.
  if (options.control) registerConsole(app, guard, options.control, log);
  // Open predict (no tokens) is only an address limit: no promise to wait on per request.
  const admit = (request: FastifyRequest): Promise<unknown> | undefined => {
    if (options.predictAuth) return guard.require(request, 'predict', 'predict', 'predict');
    guard.limitAddress(request);
    return undefined;
  };

  // Not an async handler: open predict of a model scored at once answers without a promise. Fastify
  // sends what a synchronous handler throws to the error handler, as it does a rejection.
  app.post<{ Params: { modelAction: string } }>('/v1/models/:modelAction', (request, reply) => {
    const { model, action } = parseAction(
      request.params.modelAction,
      'POST /v1/models/<model>:predict (or :promote, :rollback)',
    );
    if (action === 'predict') {
      const send = () =>
        sendAnswer(
          reply,
          predict(model, undefined, request.body, request.id, wantsExplanation(request.query)),
        );
      const admitted = admit(request);
      return admitted ? admitted.then(send) : send();
    }
    if (!actions) {
      throw new ServingRequestError(
        404,
        'UNKNOWN_ACTION',
        `this server takes no ${action} requests: the control routes are on when \`sluice serve\` can reach Temporal`,
      );
    }
    return actions[action](model, request).then((body) => reply.send(body));
  });
  app.post<{ Params: { model: string; versionAction: string } }>(
    '/v1/models/:model/versions/:versionAction',
    async (request, reply) => {
      const parsed = parseAction(
        request.params.versionAction,
        'POST /v1/models/<model>/versions/<n>:predict',
      );
      const text = parsed.model;
      if (parsed.action !== 'predict') {
        throw new ServingRequestError(
          404,
          'UNKNOWN_ACTION',
          `"${request.params.versionAction}" is not a predict action; use POST /v1/models/<model>/versions/<n>:predict`,
        );
      }
      const admitted = admit(request);
      if (admitted) await admitted;
      const version = Number(text);
      if (!/^[1-9]\d*$/.test(text)) {
        throw new ServingRequestError(
          404,
          'UNKNOWN_VERSION',
          `version "${text}" is not a version number; use a registered version such as 1`,
        );
      }
      return sendAnswer(
        reply,
        predict(request.params.model, version, request.body, request.id, wantsExplanation(request.query)),
      );
    },
  );
  app.get<{ Params: { model: string } }>('/v1/models/:model', (request, reply) =>
    reply.send(pool.describe(request.params.model)),
  );
  app.post('/v1/feedback', async (request, reply) => {
    await guard.require(request, 'feedback', 'send feedback');
    const parsed = parseFeedback(request.body);
    await feedback.append(parsed);
    return reply.code(202).send({ accepted: true, requestId: parsed.requestId, instance: parsed.instance });
  });
  app.get('/healthz', (_request, reply) => reply.send({ status: 'ok' }));
  app.get('/readyz', (_request, reply) => {
    const models = Object.fromEntries(pool.models.map((m) => [m, pool.describe(m)['loaded']]));
    return reply.code(pool.ready ? 200 : 503).send({ ready: pool.ready, models });
  });
  app.get('/metrics', async (_request, reply) =>
    reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  try {
    await pool.refreshAll();
  } catch (error) {
    log.warn({ err: error }, 'could not read the registry at start; not ready until a refresh succeeds');
  }
  const pollMs = options.pollMs ?? 5_000;
  const poll =
    pollMs > 0
      ? setInterval(() => {
          pool
            .refreshAll()
            .catch((error: unknown) =>
              log.warn({ err: error }, 'registry refresh failed; keeping the loaded versions'),
            );
        }, pollMs)
      : null;
  poll?.unref();

  return {
    app,
    pool,
    predictionLog,
    metrics,
    listen: async (host, port) => app.listen({ host, port }),
    close: async () => {
      if (poll) clearInterval(poll);
      await app.close();
      await predictionLog.close();
      pool.close();
    },
  };
}

/** What Fastify sends for an object: predict answers a string it wrote itself, with the same type. */
const jsonType = 'application/json; charset=utf-8';

/** Send a predict answer: at once when it is written, else when it is. */
function sendAnswer(
  reply: FastifyReply,
  answer: string | Promise<string>,
): FastifyReply | Promise<FastifyReply> {
  return typeof answer === 'string'
    ? reply.type(jsonType).send(answer)
    : answer.then((text) => reply.type(jsonType).send(text));
}

const modelActions = ['predict', 'promote', 'rollback'] as const;

/** `delay:predict` → `{ model: 'delay', action: 'predict' }`; anything else is a 404 showing the path. */
function parseAction(text: string, usage: string): { model: string; action: (typeof modelActions)[number] } {
  const colon = text.lastIndexOf(':');
  const action = text.slice(colon + 1);
  if (colon <= 0 || !(modelActions as readonly string[]).includes(action)) {
    throw new ServingRequestError(404, 'UNKNOWN_ACTION', `"${text}" is not a model action; use ${usage}`);
  }
  return { model: text.slice(0, colon), action: action as (typeof modelActions)[number] };
}
