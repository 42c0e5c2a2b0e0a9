import { randomBytes, timingSafeEqual } from 'node:crypto';

/** A logged-in console user: the token stays on the server, the browser holds only a random session id. */
export interface Session {
  id: string;
  /** The bearer token the user logged in with; re-checked on every request, so revocation takes effect. */
  token: string;
  identity: string;
  csrf: string;
  expiresAt: number;
}

export const sessionCookie = 'sluice_console';

/**
 * Console sessions, in memory (a restart logs everyone out). Each has its own CSRF token, which every
 * form POST must carry; sessions expire after `ttlMs` (default eight hours).
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly ttlMs = 8 * 3600_000) {}

  create(token: string, identity: string, now = Date.now()): Session {
    this.sweep(now);
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      token,
      identity,
      csrf: randomBytes(32).toString('base64url'),
      expiresAt: now + this.ttlMs,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  get(id: string | undefined, now = Date.now()): Session | undefined {
    if (!id) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (session.expiresAt <= now) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }

  private sweep(now: number): void {
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(id);
  }
}

/** Whether a presented CSRF token is the session's, compared in constant time. */
export function csrfMatches(session: Session, presented: unknown): boolean {
  if (typeof presented !== 'string') return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(session.csrf);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** One cookie's value from a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The Set-Cookie value for a session (HttpOnly, SameSite=Strict, scoped to the console). */
export function sessionCookieHeader(value: string, maxAgeSeconds: number, secure: boolean): string {
  return [
    `${sessionCookie}=${value}`,
    'Path=/console',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${maxAgeSeconds}`,
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}
