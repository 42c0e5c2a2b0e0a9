import { z } from 'zod';

/**
 * The object schemas a hand-written union accepts (the trainer: dense or trees), for the reference in
 * `docs/pipelines.md`: such a union parses by hand to report every mistake, so zod cannot describe it
 * as JSON Schema by itself. Pure, like the schemas it annotates.
 */
export const schemaVariants = z.registry<{ variants: readonly unknown[] }, z.core.$ZodType>();
