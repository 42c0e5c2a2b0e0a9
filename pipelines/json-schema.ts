import { z } from 'zod';
import type { JsonValue } from './json.js';

/** Any JSON value: what a step parameter or a search-space entry may hold. */
export const jsonValueSchema: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(jsonValueSchema),
    z.record(z.string(), jsonValueSchema),
  ]),
);
