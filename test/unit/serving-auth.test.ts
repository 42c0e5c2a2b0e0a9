import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { Guard } from '../../serving/guard.js';
import type { ServingRequestError } from '../../lib/http-error.js';
import { RateLimiter } from '../../serving/rate-limit.js';
import { createToken, readTokens, revokeToken, TokenStore } from '../../serving/tokens.js';

const tempFile = async () => join(await mkdtemp(join(tmpdir(), 'sluice-tokens-')), 'tokens.json');

describe('bearer tokens', () => {
  it('are stored only as sha256 in a 0600 file, and verify to their identity and roles', async () => {
    const file = await tempFile();
    const { token, record } = await createToken(file, {
      identity: 'ann',
      roles: ['approver', 'trigger', 'approver'],
      createdBy: 'ops',
    });
    expect(token).toMatch(/^sluice_[0-9a-f]{64}$/);
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.slice(7, 40));
    expect(text).toContain(record.sha256);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(record.roles).toEqual(['approver', 'trigger']);

    const store = new TokenStore(file);
    await store.load();
    expect(await store.verify(token)).toEqual({
      identity: 'ann',
      roles: ['approver', 'trigger'],
      tokenId: record.id,
    });
    // One character changed (to a different one: the token may already end in '0').
    const tampered = `${token.slice(0, -1)}${token.endsWith('0') ? '1' : '0'}`;
    expect(await store.verify(tampered)).toBeUndefined();
    expect(await store.verify(record.sha256)).toBeUndefined();
    expect(await store.verify('')).toBeUndefined();
  });

  it('a revoked token stops working on the next check, without reloading by hand', async () => {
    const file = await tempFile();
    const first = await createToken(file, { identity: 'ann', roles: ['trigger'], createdBy: 'ops' });
    const store = new TokenStore(file);
    await store.load();
    const second = await createToken(file, { identity: 'ben', roles: ['feedback'], createdBy: 'ops' });
    expect((await store.verify(second.token))?.identity).toBe('ben');
    await revokeToken(file, first.record.id);
    expect(await store.verify(first.token)).toBeUndefined();
    expect((await readTokens(file)).find((t) => t.id === first.record.id)?.revokedAt).toBeDefined();
    await expect(revokeToken(file, 'tok_000000000000')).rejects.toThrow(
      /no token tok_000000000000 in .*tokens\.json: list them with `sluice token list`/,
    );
  });

  it('refuses unknown roles, bad identities and broken files with the fix', async () => {
    const file = await tempFile();
    await expect(createToken(file, { identity: 'ann', roles: ['root'], createdBy: 'ops' })).rejects.toThrow(
      'role "root" is not a token role: use trigger, approver, promoter, feedback, predict',
    );
    await expect(
      createToken(file, { identity: 'ann smith', roles: ['trigger'], createdBy: 'ops' }),
    ).rejects.toThrow(/identity "ann smith" is not an id/);
    await writeFile(file, '{"tokens": [{"id": "x"}]}');
    await expect(readTokens(file)).rejects.toThrow(/^tokens file .*tokens\.json is invalid: tokens\.0\.id/);
    await writeFile(file, '{');
    await expect(new TokenStore(file).load()).rejects.toThrow(/is not JSON .*recreate it/);
  });

  it('a server keeps the last good tokens when the file turns invalid under it, and says so', async () => {
    const file = await tempFile();
    const { token } = await createToken(file, { identity: 'ann', roles: ['trigger'], createdBy: 'ops' });
    const errors: unknown[] = [];
    const store = new TokenStore(file, (error) => errors.push(error));
    await store.load();
    await writeFile(file, 'not json at all');
    expect((await store.verify(token))?.identity).toBe('ann');
    expect(errors).toHaveLength(1);
  });
});

describe('rate limiter', () => {
  it('allows a burst of perMinute, then one request per 60/perMinute seconds, per key', () => {
    let now = 0;
    const limiter = new RateLimiter(6, 100, () => now);
    for (let i = 0; i < 6; i++) expect(limiter.take('ann')).toBe(0);
    expect(limiter.take('ann')).toBe(10);
    expect(limiter.take('ben')).toBe(0);
    now += 10_000;
    expect(limiter.take('ann')).toBe(0);
    expect(limiter.take('ann')).toBeGreaterThan(0);
    expect(new RateLimiter(0).take('anyone')).toBe(0);
  });

  it('holds at most maxKeys keys, dropping the stalest', () => {
    const limiter = new RateLimiter(1, 2, () => 0);
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('b')).toBe(0);
    expect(limiter.take('c')).toBe(0); // evicts a
    expect(limiter.take('a')).toBe(0); // a starts afresh; b is evicted
    expect(limiter.take('c')).toBeGreaterThan(0);
  });
});

describe('guard on a Fastify route', () => {
  async function app(perIdentity = 0) {
    const file = await tempFile();
    const ann = await createToken(file, { identity: 'ann', roles: ['trigger'], createdBy: 'ops' });
    const tokens = new TokenStore(file);
    await tokens.load();
    const guard = new Guard({
      tokens,
      perIdentityPerMinute: perIdentity,
      perPredictClientPerMinute: 0,
      failuresPerMinute: 3,
    });
    const server = Fastify();
    server.setErrorHandler((error: ServingRequestError, _request, reply) =>
      reply.code(error.statusCode).headers(error.headers).send({ code: error.code, message: error.message }),
    );
    server.post('/trigger', async (request) => guard.require(request, 'trigger', 'start a pipeline'));
    server.post('/promote', async (request) => guard.require(request, 'promoter', 'promote a model'));
    return { server, token: ann.token };
  }

  it('401 without or with a wrong token (with WWW-Authenticate), 403 without the role, the caller with it', async () => {
    const { server, token } = await app();
    const none = await server.inject({ method: 'POST', url: '/trigger' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="sluice", scope="trigger"');
    expect(none.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
    const wrong = await server.inject({
      method: 'POST',
      url: '/trigger',
      headers: { authorization: `Bearer sluice_${'0'.repeat(64)}` },
    });
    expect(wrong.json()).toMatchObject({ code: 'INVALID_TOKEN' });
    const auth = { authorization: `Bearer ${token}` };
    const forbidden = await server.inject({ method: 'POST', url: '/promote', headers: auth });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json<{ message: string }>().message).toBe(
      'ann may not promote a model: that needs role promoter, and this token holds trigger; ask for a token with role promoter',
    );
    const ok = await server.inject({ method: 'POST', url: '/trigger', headers: auth });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ identity: 'ann', roles: ['trigger'] });
  });

  it('an address that keeps failing gets 429 with Retry-After, even with a good token guessed later', async () => {
    const { server, token } = await app();
    const bad = { authorization: 'Bearer guess' };
    for (let i = 0; i < 3; i++) {
      expect((await server.inject({ method: 'POST', url: '/trigger', headers: bad })).statusCode).toBe(401);
    }
    const limited = await server.inject({ method: 'POST', url: '/trigger', headers: bad });
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(
      (
        await server.inject({
          method: 'POST',
          url: '/trigger',
          headers: { authorization: `Bearer ${token}` },
        })
      ).statusCode,
    ).toBe(200);
  });

  it('each identity is limited to its requests a minute', async () => {
    const { server, token } = await app(2);
    const auth = { authorization: `Bearer ${token}` };
    expect((await server.inject({ method: 'POST', url: '/trigger', headers: auth })).statusCode).toBe(200);
    expect((await server.inject({ method: 'POST', url: '/trigger', headers: auth })).statusCode).toBe(200);
    const third = await server.inject({ method: 'POST', url: '/trigger', headers: auth });
    expect(third.statusCode).toBe(429);
    expect(third.json<{ message: string }>().message).toBe('ann is over 2 requests a minute: retry in 30 s');
  });
});
