import { describe, expect, it } from 'vitest';
import { describeLocation } from '../../lib/artifacts/index.js';
import { loadConfig } from '../../lib/config.js';

const base = { SLUICE_HOME: '/srv/sluice' };

describe('SLUICE_ARTIFACTS chooses the artifact store', () => {
  it('defaults to the local store under SLUICE_HOME, and takes a directory relative to the working directory', () => {
    expect(loadConfig(base, '/work').artifacts).toEqual({ kind: 'local', root: '/srv/sluice/artifacts' });
    expect(loadConfig({ ...base, SLUICE_ARTIFACTS: 'shared/store' }, '/work').artifacts).toEqual({
      kind: 'local',
      root: '/work/shared/store',
    });
  });

  it('takes s3://bucket/prefix with the endpoint, region and keys from their variables', () => {
    const { artifacts } = loadConfig(
      {
        ...base,
        SLUICE_ARTIFACTS: 's3://ml-artifacts/team/sluice/',
        SLUICE_S3_ENDPOINT: 'http://127.0.0.1:19000',
        AWS_ACCESS_KEY_ID: 'sluice',
        AWS_SECRET_ACCESS_KEY: 'not-shown-anywhere',
      },
      '/work',
    );
    expect(artifacts).toEqual({
      kind: 's3',
      bucket: 'ml-artifacts',
      prefix: 'team/sluice',
      endpoint: 'http://127.0.0.1:19000',
      region: 'us-east-1',
      credentials: { accessKeyId: 'sluice', secretAccessKey: 'not-shown-anywhere' },
      cacheRoot: '/srv/sluice/artifact-cache',
      waitMs: 120_000, // SLUICE_S3_WAIT_MS: how long a request waits out an unavailable service
    });
    expect(describeLocation(artifacts)).toBe('s3://ml-artifacts/team/sluice at http://127.0.0.1:19000');
  });

  it.each([
    [
      'an unknown scheme',
      'gs://bucket/x',
      /SLUICE_ARTIFACTS="gs:\/\/bucket\/x" is invalid: give a local directory or s3:\/\/bucket\/prefix/,
    ],
    [
      'a bucket name S3 refuses',
      's3://My_Bucket/x',
      /names bucket "My_Bucket", which is not a valid S3 bucket name/,
    ],
    ['a prefix that climbs', 's3://bucket/a/../b', /has "\." or "\.\." in its prefix/],
  ])('refuses %s, naming the variable', (_, value, message) => {
    expect(() => loadConfig({ ...base, SLUICE_ARTIFACTS: value }, '/work')).toThrow(message);
  });

  it('refuses half a key pair without showing the secret', () => {
    const error = (() => {
      try {
        loadConfig(
          { ...base, SLUICE_ARTIFACTS: 's3://bucket', AWS_SECRET_ACCESS_KEY: 'hunter2-secret' },
          '/w',
        );
      } catch (caught) {
        return caught as Error;
      }
      return undefined;
    })();
    expect(error?.message).toMatch(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together/);
    expect(error?.message).not.toContain('hunter2');
  });
});
