import { SluiceError, type SluiceErrorOptions } from '../pipelines/errors.js';

/**
 * A request serving refuses, with the HTTP status it maps to. One class rather than one per status so
 * every route answers errors the same way: `{ error: { code, message } }` where the message names the
 * thing (model, version, instance index, feature) and the fix.
 */
export class ServingRequestError extends SluiceError {
  readonly code: string;
  readonly retryable: boolean;
  /** Response headers that go with it (`WWW-Authenticate`, `Retry-After`). */
  readonly headers: Record<string, string>;

  constructor(
    readonly statusCode: 400 | 401 | 403 | 404 | 409 | 413 | 429 | 503,
    code: string,
    message: string,
    options: SluiceErrorOptions & { headers?: Record<string, string> } = {},
  ) {
    super(message, options);
    this.code = code;
    this.retryable = statusCode === 503 || statusCode === 429;
    this.headers = options.headers ?? {};
  }
}
