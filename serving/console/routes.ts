import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ServingRequestError } from '../../lib/http-error.js';
import type { Log } from '../../worker/logging.js';
import type { ControlOptions } from '../control.js';
import type { Guard } from '../guard.js';
import { assets } from './assets.js';
import { html } from './escape.js';
import { page, refusal, type Viewer } from './layout.js';
import { approvalPage } from './pages/approval.js';
import { auditPage } from './pages/audit.js';
import { comparePage } from './pages/compare.js';
import { registryPage, modelPage } from './pages/registry.js';
import { runPage } from './pages/run.js';
import { runsPage } from './pages/runs.js';
import {
  csrfMatches,
  readCookie,
  sessionCookie,
  sessionCookieHeader,
  SessionStore,
  type Session,
} from './session.js';

/** What every page gets: the Temporal client and config, who is looking, and a way to act as them. */
export interface ConsoleContext extends ControlOptions {
  viewer: Viewer;
  /** Call one of the server's own `/v1` routes with the viewer's token: same code, roles and policy. */
  forward(method: 'POST', url: string, body: unknown): Promise<{ status: number; body: ApiAnswer }>;
}

export type ApiAnswer = Record<string, unknown> & { error?: { code: string; message: string } };

type Query = Record<string, string | string[] | undefined>;

/**
 * The console (issue 15, item 4): server-rendered pages under `/console` of `sluice serve`, on the same
 * Fastify app, tokens and roles as the HTTP API. Logging in with a token makes a server-side session
 * (HttpOnly, SameSite=Strict cookie); every POST carries the session's CSRF token; every action is
 * forwarded to the `/v1` route that does it, so the gate's policy and the registry's rules decide.
 */
export function registerConsole(app: FastifyInstance, guard: Guard, control: ControlOptions, log: Log): void {
  const sessions = new SessionStore();

  void app.register(
    (scope, _options, done) => {
      scope.addContentTypeParser(
        'application/x-www-form-urlencoded',
        { parseAs: 'string', bodyLimit: 64 * 1024 },
        (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
      );
      scope.addHook('onSend', async (_request, reply, payload) => {
        reply.header(
          'content-security-policy',
          "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        );
        reply.header('x-content-type-options', 'nosniff');
        reply.header('referrer-policy', 'same-origin');
        return payload;
      });
      scope.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
        const status = error instanceof ServingRequestError ? error.statusCode : (error.statusCode ?? 500);
        if (status >= 500) log.error({ err: error, url: request.url }, 'console request failed');
        const message =
          status >= 500 ? `internal error; see the server log for request ${request.id}` : error.message;
        if (wantsJson(request)) {
          return reply.code(status).send({ error: { code: codeOf(error), message } });
        }
        const session = sessions.get(readCookie(request.headers.cookie, sessionCookie));
        const viewer = session ? { identity: session.identity, roles: [], csrf: session.csrf } : null;
        return reply
          .code(status)
          .type('text/html; charset=utf-8')
          .send(
            page(
              status === 403 ? 'Refused' : 'Error',
              viewer,
              refusal(`${status} ${codeOf(error)}`, message),
            ),
          );
      });

      const htmlReply = (reply: FastifyReply, body: string) =>
        reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);

      /** The session and caller of a request, or a redirect to the login page. */
      const authenticate = async (
        request: FastifyRequest,
        reply: FastifyReply,
      ): Promise<{ session: Session; ctx: ConsoleContext } | undefined> => {
        const session = sessions.get(readCookie(request.headers.cookie, sessionCookie));
        const caller = session ? await guard.identify(request, session.token) : undefined;
        if (!session || !caller) {
          if (session) sessions.delete(session.id);
          if (wantsJson(request)) {
            throw new ServingRequestError(
              401,
              'UNAUTHENTICATED',
              'log in to the console again (session ended)',
            );
          }
          await reply.redirect(`/console/login?next=${encodeURIComponent(request.url)}`, 303);
          return undefined;
        }
        const viewer: Viewer = { identity: caller.identity, roles: caller.roles, csrf: session.csrf };
        const forward: ConsoleContext['forward'] = async (method, url, body) => {
          const answer = await app.inject({
            method,
            url,
            headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' },
            payload: JSON.stringify(body),
          });
          return { status: answer.statusCode, body: answer.json<ApiAnswer>() };
        };
        return { session, ctx: { ...control, viewer, forward } };
      };

      /** Refuse a POST whose CSRF token is not the session's, saying so. */
      const requireCsrf = (request: FastifyRequest, session: Session) => {
        const body = (request.body ?? {}) as Record<string, unknown>;
        const presented = request.headers['x-csrf-token'] ?? body['csrf'];
        if (!csrfMatches(session, presented)) {
          log.warn(
            { identity: session.identity, url: request.url },
            'console: forged or stale CSRF token refused',
          );
          throw new ServingRequestError(
            403,
            'CSRF_REFUSED',
            `refused: this request's CSRF token does not match ${session.identity}'s session, so it did not come from a console page you opened (a forged or stale form); nothing was done. Reload the page and try again.`,
          );
        }
      };

      scope.get<{ Querystring: Query }>('/login', async (request, reply) =>
        htmlReply(reply, loginPage(one(request.query.next), one(request.query.error))),
      );
      scope.post<{ Body: Record<string, string> }>('/login', async (request, reply) => {
        const token = String(request.body?.['token'] ?? '').trim();
        const next = safeNext(request.body?.['next']);
        const caller = token ? await guard.identify(request, token) : undefined;
        if (!caller) {
          log.warn({ ip: request.ip }, 'console: login refused');
          return htmlReply(
            reply.code(401),
            loginPage(
              next,
              token
                ? 'That token is not valid (unknown, revoked or mistyped): ask for a new one with `sluice token create`.'
                : 'Paste your token (sluice_…) to log in.',
            ),
          );
        }
        const session = sessions.create(token, caller.identity);
        log.info({ identity: caller.identity, tokenId: caller.tokenId }, 'console: logged in');
        return reply
          .header('set-cookie', sessionCookieHeader(session.id, 8 * 3600, request.protocol === 'https'))
          .redirect(next, 303);
      });
      scope.post('/logout', async (request, reply) => {
        const session = sessions.get(readCookie(request.headers.cookie, sessionCookie));
        if (session) {
          requireCsrf(request, session);
          sessions.delete(session.id);
        }
        return reply
          .header('set-cookie', sessionCookieHeader('', 0, request.protocol === 'https'))
          .redirect('/console/login', 303);
      });
      scope.get<{ Params: { name: string } }>('/assets/:name', async (request, reply) => {
        const asset = assets[request.params.name];
        if (!asset)
          throw new ServingRequestError(404, 'NOT_FOUND', `no console asset ${request.params.name}`);
        return reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(asset);
      });

      scope.get<{ Querystring: Query }>('/', async (request, reply) => {
        const auth = await authenticate(request, reply);
        return auth && htmlReply(reply, await runsPage(auth.ctx, request.query));
      });
      scope.get<{ Params: { run: string }; Querystring: Query }>('/runs/:run', async (request, reply) => {
        const auth = await authenticate(request, reply);
        return auth && htmlReply(reply, await runPage(auth.ctx, request.params.run, request.query));
      });
      scope.get<{ Params: { run: string } }>('/runs/:run/approval', async (request, reply) => {
        const auth = await authenticate(request, reply);
        return auth && htmlReply(reply, await approvalPage(auth.ctx, request.params.run));
      });
      scope.post<{ Params: { run: string }; Body: Record<string, unknown> }>(
        '/runs/:run/decide',
        async (request, reply) => {
          const auth = await authenticate(request, reply);
          if (!auth) return reply;
          requireCsrf(request, auth.session);
          const { csrf: _csrf, ...body } = request.body ?? {};
          const answer = await auth.ctx.forward(
            'POST',
            `/v1/runs/${encodeURIComponent(request.params.run)}/approvals`,
            body,
          );
          if (wantsJson(request)) return reply.code(answer.status).send(answer.body);
          if (answer.body.error) {
            throw refusedBy(answer.status, answer.body.error);
          }
          return reply.redirect(`/console/runs/${encodeURIComponent(request.params.run)}`, 303);
        },
      );
      scope.get<{ Params: { run: string } }>('/runs/:run/audit', async (request, reply) => {
        const auth = await authenticate(request, reply);
        return auth && htmlReply(reply, await auditPage(auth.ctx, request.params.run));
      });
      scope.get('/registry', async (request, reply) => {
        const auth = await authenticate(request, reply);
        return auth && htmlReply(reply, await registryPage(auth.ctx));
      });
      scope.get<{ Params: { model: string }; Querystring: Query }>(
        '/registry/:model',
        async (request, reply) => {
          const auth = await authenticate(request, reply);
          return (
            auth && htmlReply(reply, await modelPage(auth.ctx, request.params.model, one(request.query.done)))
          );
        },
      );
      scope.post<{ Params: { model: string; action: string }; Body: Record<string, string> }>(
        '/registry/:model/:action',
        async (request, reply) => {
          const auth = await authenticate(request, reply);
          if (!auth) return reply;
          requireCsrf(request, auth.session);
          const { model, action } = request.params;
          if (action !== 'promote' && action !== 'rollback') {
            throw new ServingRequestError(
              404,
              'UNKNOWN_ACTION',
              `no registry action "${action}": use promote or rollback`,
            );
          }
          const reason = String(request.body?.['reason'] ?? '');
          const body =
            action === 'promote' ? { version: Number(request.body?.['version']), reason } : { reason };
          const answer = await auth.ctx.forward(
            'POST',
            `/v1/models/${encodeURIComponent(model)}:${action}`,
            body,
          );
          if (answer.body.error) {
            throw refusedBy(answer.status, answer.body.error);
          }
          return reply.redirect(`/console/registry/${encodeURIComponent(model)}?done=${action}`, 303);
        },
      );
      scope.get<{ Querystring: Query }>('/compare', async (request, reply) => {
        const auth = await authenticate(request, reply);
        return auth && htmlReply(reply, await comparePage(auth.ctx, request.query));
      });
      done();
    },
    { prefix: '/console' },
  );
}

function loginPage(next: string | undefined, error: string | undefined): string {
  return page(
    'Log in',
    null,
    html`${error ? refusal('Not logged in', error) : ''}
      <form method="post" action="/console/login">
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          size="72"
          required
          aria-describedby="token-help"
        />
        <p id="token-help">
          The token from <code>sluice token create</code>; its roles decide what you may do here.
        </p>
        <input type="hidden" name="next" value="${safeNext(next)}" />
        <button type="submit">Log in</button>
      </form>`,
  );
}

/** Only a console path may follow a login (no open redirect). */
function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/console(\/|$|\?)/.test(value) && !value.startsWith('//')
    ? value
    : '/console/';
}

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function wantsJson(request: FastifyRequest): boolean {
  return String(request.headers.accept ?? '').includes('application/json');
}

function codeOf(error: Error & { code?: string }): string {
  return error instanceof ServingRequestError ? error.code : (error.code ?? 'ERROR');
}

type ErrorStatus = ConstructorParameters<typeof ServingRequestError>[0];
const statuses: readonly ErrorStatus[] = [400, 401, 403, 404, 409, 413, 429, 503];

/** A `/v1` route's refusal, re-thrown for the page to show (its status, code and words kept). */
function refusedBy(status: number, error: { code: string; message: string }): ServingRequestError {
  const known = statuses.find((s) => s === status) ?? 400;
  return new ServingRequestError(known, error.code, error.message);
}
