import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../pipelines/errors.js';
import { loadConfig, splitAddress } from '../../lib/config.js';

describe('loadConfig', () => {
  it('fills the documented defaults, with SLUICE_HOME made absolute against the working directory', () => {
    const config = loadConfig({}, '/srv/project');
    expect(config).toMatchObject({
      temporal: { address: '127.0.0.1:7233', namespace: 'default', cliPath: undefined, uiPort: 8233 },
      home: '/srv/project/.sluice',
      taskQueues: { orchestration: 'sluice', train: 'sluice-train' },
      logLevel: 'info',
      dataRoots: ['/srv/project'],
      concurrency: { activities: 8, training: 1, cachedRuns: 100 },
    });
  });

  it('reads every variable docs/architecture.md names', () => {
    const config = loadConfig(
      {
        TEMPORAL_ADDRESS: 'temporal.internal:7233',
        TEMPORAL_NAMESPACE: 'ml',
        SLUICE_HOME: '/var/lib/sluice',
        SLUICE_TASK_QUEUE: 'q',
        SLUICE_TRAIN_TASK_QUEUE: 'q-train',
        SLUICE_DATA_ROOTS: '/data:relative',
        SLUICE_UI_PORT: '9000',
      },
      '/srv',
    );
    expect(config.temporal).toMatchObject({
      address: 'temporal.internal:7233',
      namespace: 'ml',
      uiPort: 9000,
    });
    expect(config.home).toBe('/var/lib/sluice');
    expect(config.taskQueues).toEqual({ orchestration: 'q', train: 'q-train' });
    expect(config.dataRoots).toEqual(['/data', '/srv/relative']);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ TEMPORAL_ADDRESS: '' }, '/x').temporal.address).toBe('127.0.0.1:7233');
  });

  it.each([
    ['TEMPORAL_ADDRESS', 'localhost', /TEMPORAL_ADDRESS="localhost" is invalid: host:port/],
    ['TEMPORAL_ADDRESS', 'h:99999', /TEMPORAL_ADDRESS="h:99999" is invalid: a port of at most 65535/],
    ['SLUICE_UI_PORT', 'eighty', /SLUICE_UI_PORT="eighty" is invalid/],
    ['SLUICE_LOG_LEVEL', 'loud', /SLUICE_LOG_LEVEL="loud" is invalid/],
    ['SLUICE_MAX_CONCURRENT_ACTIVITIES', '0', /SLUICE_MAX_CONCURRENT_ACTIVITIES="0" is invalid/],
  ])('refuses %s=%s naming the variable and the fix', (name, value, message) => {
    const attempt = () => loadConfig({ [name]: value }, '/x');
    expect(attempt).toThrow(ConfigurationError);
    expect(attempt).toThrow(message);
    expect(attempt).toThrow(/fix or unset it$/);
  });

  it('splits host:port, IPv6 included', () => {
    expect(splitAddress('127.0.0.1:7233')).toEqual({ host: '127.0.0.1', port: 7233 });
    expect(splitAddress('[::1]:7233')).toEqual({ host: '::1', port: 7233 });
  });
});
