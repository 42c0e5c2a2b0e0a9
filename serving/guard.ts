import type { FastifyRequest } from 'fastify';
import { ServingRequestError } from '../lib/http-error.js';
import { RateLimiter } from './rate-limit.js';
import type { SluiceConfig } from '../lib/config.js';
import type { Log } from '../worker/logging.js';
import { TokenStore, type Caller, type TokenRole } from './tokens.js';

export interface GuardOptions {
  tokens: TokenStore;
  /** Requests a minute per identity on guarded routes; 0 is no limit. */
  perIdentityPerMinute: number;
  /** Predict requests a minute per identity (with tokens) or per address (without); 0 is no limit. */
  perPredictClientPerMinute: number;
  /** Failed authentications a minute per client address before it gets 429 instead (guessing). */
  failuresPerMinute?: number;
}

/**
 * Who may call what: a bearer token (stored hashed, compared in constant time) maps a request to an
 * identity and its roles; each guarded route names the role it needs; every identity, every address
 * that keeps failing, and optionally every predict caller, is rate limited.
 */
export class Guard {
  private readonly perIdentity: RateLimiter;
  /** Predict's budget: per identity when predict needs tokens, else per address. */
  private readonly perClient: RateLimiter;
  private readonly failures: RateLimiter;

  constructor(private readonly options: GuardOptions) {
    this.perIdentity = new RateLimiter(options.perIdentityPerMinute);
    this.perClient = new RateLimiter(options.perPredictClientPerMinute);
    this.failures = new RateLimiter(options.failuresPerMinute ?? 30);
  }

  /** Live tokens now (for the start-up log line). */
  get tokenCount(): number {
    return this.options.tokens.size;
  }

  /**
   * The caller of `request`, who must hold `role`.
   *
   * @throws ServingRequestError 401 (no or unknown token), 403 (role missing), 429 (over a limit).
   */
  async require(
    request: FastifyRequest,
    role: TokenRole,
    action: string,
    budget: 'control' | 'predict' = 'control',
  ): Promise<Caller> {
    const header = request.headers.authorization;
    const token = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
    const caller = token === undefined ? undefined : await this.options.tokens.verify(token);
    if (!caller) {
      const wait = this.failures.take(request.ip);
      if (wait > 0) throw limited(wait, `too many failed authentications from ${request.ip}`);
      throw new ServingRequestError(
        401,
        token === undefined ? 'UNAUTHENTICATED' : 'INVALID_TOKEN',
        this.options.tokens.size === 0
          ? `a bearer token is needed to ${action}, and this server has none configured: create one with \`sluice token create --identity <you> --role ${role}\` (file ${this.options.tokens.file})`
          : token === undefined
            ? `a bearer token with role ${role} is needed to ${action}: send Authorization: Bearer <token>`
            : `the bearer token is not valid (unknown, revoked or mistyped): ask for a new one with \`sluice token create\``,
        { headers: { 'www-authenticate': `Bearer realm="sluice", scope="${role}"` } },
      );
    }
    if (!caller.roles.includes(role)) {
      throw new ServingRequestError(
        403,
        'FORBIDDEN',
        `${caller.identity} may not ${action}: that needs role ${role}, and this token holds ${caller.roles.join(', ')}; ask for a token with role ${role}`,
      );
    }
    const limiter = budget === 'control' ? this.perIdentity : this.perClient;
    const wait = limiter.take(caller.identity);
    if (wait > 0) throw limited(wait, `${caller.identity} is over ${limiter.perMinute} requests a minute`);
    return caller;
  }

  /**
   * The caller a token belongs to, whatever its roles (console login and every console request, so a
   * revoked token ends its sessions); a failure counts toward the address's guessing limit.
   *
   * @throws ServingRequestError 429 when the address keeps failing.
   */
  async identify(request: FastifyRequest, token: string): Promise<Caller | undefined> {
    const caller = await this.options.tokens.verify(token);
    if (!caller) {
      const wait = this.failures.take(request.ip);
      if (wait > 0) throw limited(wait, `too many failed authentications from ${request.ip}`);
    }
    return caller;
  }

  /** Rate limit an open route (predict without tokens) by client address. */
  limitAddress(request: FastifyRequest): void {
    const wait = this.perClient.take(request.ip);
    if (wait > 0) throw limited(wait, `${request.ip} is over ${this.perClient.perMinute} requests a minute`);
  }
}

function limited(seconds: number, why: string): ServingRequestError {
  return new ServingRequestError(429, 'RATE_LIMITED', `${why}: retry in ${seconds} s`, {
    headers: { 'retry-after': String(seconds) },
  });
}

/**
 * The guard `sluice serve` runs with: tokens from the configured file (loaded now, so a broken file
 * stops the server at start; re-read when it changes), the configured rate limits.
 */
export async function guardFromConfig(
  serve: Pick<SluiceConfig['serve'], 'tokensFile' | 'rateLimit'>,
  log: Log,
): Promise<Guard> {
  const tokens = new TokenStore(serve.tokensFile, (error) =>
    log.error({ err: error }, 'tokens file changed and is invalid; keeping the tokens loaded before'),
  );
  await tokens.load();
  return new Guard({
    tokens,
    perIdentityPerMinute: serve.rateLimit.control,
    perPredictClientPerMinute: serve.rateLimit.predict,
  });
}
