import { SluiceError, type SluiceErrorOptions } from '../pipelines/errors.js';

/**
 * A request serving refuses, with the HTTP status it maps to. One class rather than one per status so
 * every route answers errors the same way: `{ error: { code, message } }` where the message names the
 * thing (model, version, instance index, feature) and the fix.
 */
export class ServingRequestError extends SluiceError {
  readonly code: string;
  readonly retryable: boolean;

  constructor(
    readonly statusCode: 400 | 404 | 413 | 503,
    code: string,
    message: string,
    options: SluiceErrorOptions = {},
  ) {
    super(message, options);
    this.code = code;
    this.retryable = statusCode === 503;
  }
}
