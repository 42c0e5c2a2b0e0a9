import { InvalidInputError } from './errors.js';

const units = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export const durationPattern = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** Parse `250ms`, `30s`, `15m`, `72h`, `7d` into milliseconds. Sandbox-safe. */
export function parseDuration(text: string, what = 'duration'): number {
  const match = durationPattern.exec(text.trim());
  if (!match) {
    throw new InvalidInputError(
      `${what} "${text}" is not a duration: write a number and a unit, e.g. 250ms, 30s, 15m, 72h or 7d`,
      { details: { value: text } },
    );
  }
  return Number(match[1]) * units[match[2] as keyof typeof units];
}
