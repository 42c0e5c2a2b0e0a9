import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import { createLogger } from '../../worker/logging.js';

const piiKey = `pii-${randomBytes(16).toString('hex')}`;
const payloadKey = randomBytes(32).toString('hex');
const webhookSecret = randomBytes(12).toString('hex');
const bearer = `sluice_${randomBytes(32).toString('hex')}`;
const env = {
  SLUICE_HOME: '/tmp/sluice-redaction',
  SLUICE_PII_KEY: piiKey,
  SLUICE_PAYLOAD_KEYS: `k1:${payloadKey}`,
  SLUICE_ALERT_WEBHOOK: `https://hooks.example.com/alert?token=${webhookSecret}`,
};
const secrets = [piiKey, payloadKey, webhookSecret, bearer];

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const log = createLogger({ logLevel: 'trace' }, stream);
  return { log, text: () => lines.join('') };
}

describe('secrets never reach the log', () => {
  it('config, request headers, tokens and keys are redacted in every shape Sluice logs them', () => {
    const config = loadConfig(env, '/tmp');
    const { log, text } = capture();
    log.info({ config }, 'worker starting');
    log.info(config, 'config at top level');
    log.info({ req: { headers: { authorization: `Bearer ${bearer}`, cookie: 's=1' } } }, 'request');
    log.info({ headers: { authorization: `Bearer ${bearer}` } }, 'request headers');
    log.warn({ token: bearer, secret: piiKey, password: payloadKey }, 'fields named as secrets');
    log.error({ webhook: { alertWebhook: config.alertWebhook } }, 'alert failed');
    const written = text();
    expect(written.split('\n').filter(Boolean)).toHaveLength(6);
    for (const secret of secrets) expect(written).not.toContain(secret);
    expect(written).toContain('[redacted]');
    // what is not secret still shows, so the log stays useful
    expect(written).toContain('/tmp/sluice-redaction');
  });

  it('a bad secret variable is refused without echoing it', () => {
    expect(() => loadConfig({ ...env, SLUICE_PII_KEY: 'short-secret' }, '/tmp')).toThrow(
      'SLUICE_PII_KEY=(secret, not shown) is invalid',
    );
    try {
      loadConfig({ ...env, SLUICE_PAYLOAD_KEYS: `k1:${payloadKey.slice(0, 20)}` }, '/tmp');
      expect.unreachable('a short payload key must be refused');
    } catch (error) {
      expect((error as Error).message).not.toContain(payloadKey.slice(0, 20));
    }
  });
});
