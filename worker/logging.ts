import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import { Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import type { SluiceConfig } from '../lib/config.js';

export type Log = PinoLogger;

/** Fields that may carry secrets; pino replaces them before a line is written. */
export const redactedPaths = [
  'token',
  'password',
  'secret',
  'apiKey',
  'authorization',
  '*.token',
  '*.password',
  '*.secret',
  '*.apiKey',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  'piiKey',
  'payloadKeys',
  'alertWebhook',
  '*.piiKey',
  '*.payloadKeys',
  '*.alertWebhook',
];

/** The one pino logger of a process: JSON lines, object first, secrets redacted. */
export function createLogger(config: Pick<SluiceConfig, 'logLevel'>, destination?: DestinationStream): Log {
  return pino(
    {
      level: config.logLevel,
      base: { service: 'sluice' },
      redact: { paths: redactedPaths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ dest: 2, sync: false }),
  );
}

/** Temporal's logger interface, answered by pino. */
class PinoTemporalLogger implements TemporalLogger {
  constructor(private readonly target: Log) {}
  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    const method = level.toLowerCase() as Lowercase<LogLevel>;
    this.target[method](meta ?? {}, message);
  }
  trace(message: string, meta?: LogMetadata): void {
    this.target.trace(meta ?? {}, message);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.target.debug(meta ?? {}, message);
  }
  info(message: string, meta?: LogMetadata): void {
    this.target.info(meta ?? {}, message);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.target.warn(meta ?? {}, message);
  }
  error(message: string, meta?: LogMetadata): void {
    this.target.error(meta ?? {}, message);
  }
}

let installed: Runtime | undefined;

/**
 * Bridge the Temporal runtime's logger (SDK, workflow `log`, and the Rust core's forwarded logs) to pino.
 * Must run once, before any connection or worker is created; later calls return the same runtime.
 * Shutdown signals are ours to handle (see `worker/run.ts`), so the runtime installs none.
 */
export function installRuntime(log: Log): Runtime {
  installed ??= Runtime.install({
    logger: new PinoTemporalLogger(log.child({ component: 'temporal' })),
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }), forward: {} },
    },
    shutdownSignals: [],
  });
  return installed;
}
