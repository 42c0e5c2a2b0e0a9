import { z } from 'zod';

/** Run a step only when a run parameter has (or has not) a value: `when: { param: 'retrain', equals: true }`. */
export const conditionSchema = z
  .strictObject({
    param: z.string().min(1).describe('The run parameter to test.'),
    equals: z
      .union([z.string(), z.number(), z.boolean()])
      .optional()
      .describe('Run the step when the parameter has this value.'),
    notEquals: z
      .union([z.string(), z.number(), z.boolean()])
      .optional()
      .describe('Run the step unless the parameter has this value.'),
  })
  .refine(
    (c) => (c.equals === undefined) !== (c.notEquals === undefined),
    'give exactly one of equals and notEquals',
  );
export type Condition = z.output<typeof conditionSchema>;

/** Decided in workflow code from the run's parameters, so a replay decides the same. */
export function conditionHolds(
  condition: Condition,
  runParams: Record<string, string | number | boolean>,
): boolean {
  const value = runParams[condition.param];
  return condition.equals !== undefined ? value === condition.equals : value !== condition.notEquals;
}

export function describeCondition(condition: Condition): string {
  return condition.equals !== undefined
    ? `${condition.param} == ${JSON.stringify(condition.equals)}`
    : `${condition.param} != ${JSON.stringify(condition.notEquals)}`;
}
