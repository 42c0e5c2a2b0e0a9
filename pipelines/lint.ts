import type { StepSpec } from './spec.js';

/** One finding of the pipeline linter, naming the step and the fix. */
export interface LintIssue {
  step?: string;
  message: string;
}

/**
 * Check the DAG before anything runs (Metaflow's lesson): unique ids, dependencies that exist, no
 * cycles. Pure and sandbox-safe, so the workflow can re-check a spec it receives.
 */
export function lintSteps(steps: readonly Pick<StepSpec, 'id' | 'needs'>[]): LintIssue[] {
  const issues: LintIssue[] = [];
  const ids = new Set<string>();
  for (const step of steps) {
    if (ids.has(step.id)) {
      issues.push({
        step: step.id,
        message: `step "${step.id}" is defined twice: give each step a unique id`,
      });
    }
    ids.add(step.id);
  }
  for (const step of steps) {
    for (const need of step.needs) {
      if (need === step.id) {
        issues.push({
          step: step.id,
          message: `step "${step.id}" needs itself: remove "${need}" from its needs`,
        });
      } else if (!ids.has(need)) {
        const hint = closestName(need, [...ids]);
        issues.push({
          step: step.id,
          message: `step "${step.id}" needs unknown step "${need}"${hint ? `: did you mean "${hint}"?` : ': define it or remove it from needs'}`,
        });
      }
    }
  }
  const cycle = findCycle(steps);
  if (cycle) {
    issues.push({
      step: cycle[0] ?? '',
      message: `steps form a cycle ${cycle.join(' → ')}: remove one of these dependencies`,
    });
  }
  return issues;
}

/** Steps in an order where every step comes after the steps it needs (Kahn's algorithm, stable). */
export function topologicalOrder<S extends Pick<StepSpec, 'id' | 'needs'>>(steps: readonly S[]): S[] {
  const done = new Set<string>();
  const order: S[] = [];
  let progressed = true;
  while (order.length < steps.length && progressed) {
    progressed = false;
    for (const step of steps) {
      if (!done.has(step.id) && step.needs.every((need) => done.has(need))) {
        done.add(step.id);
        order.push(step);
        progressed = true;
      }
    }
  }
  return order;
}

function findCycle(steps: readonly Pick<StepSpec, 'id' | 'needs'>[]): string[] | undefined {
  const byId = new Map(steps.map((step) => [step.id, step]));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'visiting');
    path.push(id);
    for (const need of byId.get(id)?.needs ?? []) {
      if (need === id || !byId.has(need)) continue;
      const cycle = visit(need);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const step of steps) {
    const cycle = visit(step.id);
    if (cycle) return cycle;
  }
  return undefined;
}

/** The candidate nearest to a misspelt `word` (edit distance), if one is near enough to suggest. */
export function closestName(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
