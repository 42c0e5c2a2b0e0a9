import { heartbeat } from '@temporalio/activity';
import type { ReplicaTraffic } from '../../pipelines/deploy-rules.js';

/** Which replicas to ask, and the split they should be running. */
export interface ReplicaTrafficRequest {
  /** The replicas' `/metrics` URLs (`deploy.metricsUrls`); each one's origin answers `/v1/models/<model>`. */
  urls: string[];
  model: string;
  version: number;
  canaryPercent: number;
  shadow: boolean;
  /** How long to wait for every replica to apply it (default: 60 s, many registry polls). */
  waitMs?: number;
}

/**
 * Wait until every serving replica reports running the requested split for the candidate (each
 * applies the registry's traffic on its next poll), or until `waitMs` passes, and say what each one
 * runs. A replica that answers with another split (an operator's `--canary` override) or does not
 * answer is reported, not fatal: the observation that follows measures what really ran.
 */
export async function awaitReplicaTraffic(request: ReplicaTrafficRequest): Promise<ReplicaTraffic[]> {
  const deadline = Date.now() + (request.waitMs ?? 60_000);
  for (;;) {
    const states = await Promise.all(request.urls.map((url) => replicaTraffic(url, request)));
    // A replica on an operator's override will not change: waiting longer would not help.
    const settled = states.every((s) => s.applied || s.source === 'override');
    if (settled || Date.now() >= deadline) return states;
    heartbeat({ waiting: states.filter((s) => !s.applied).map((s) => s.url) });
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function replicaTraffic(metricsUrl: string, request: ReplicaTrafficRequest): Promise<ReplicaTraffic> {
  const url = new URL(`/v1/models/${encodeURIComponent(request.model)}`, metricsUrl).toString();
  const wanted = `canary ${request.canaryPercent} %, shadow ${request.shadow ? 'on' : 'off'} for v${request.version}`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const body = (await response.json()) as {
      traffic?: { canary?: number; shadow?: boolean; candidate?: number | null; source?: string };
    };
    const t = body.traffic ?? {};
    const candidate = t.candidate ?? null;
    const off = request.canaryPercent === 0 && !request.shadow;
    const applied =
      (t.canary ?? 0) === request.canaryPercent &&
      (t.shadow ?? false) === request.shadow &&
      (off || candidate === request.version);
    return {
      url,
      applied,
      candidate,
      canaryPercent: t.canary ?? null,
      shadow: t.shadow ?? null,
      source: t.source ?? null,
      note: applied
        ? `${url} runs ${wanted}`
        : `replica ${url} runs canary ${t.canary ?? '?'} %, shadow ${t.shadow ? 'on' : 'off'} for ${candidate === null ? 'no candidate' : `v${candidate}`} (${t.source === 'override' ? 'started with --canary/--shadow, which overrides the registry' : 'not applied yet'}), not ${wanted}`,
    };
  } catch (error) {
    return {
      url,
      applied: false,
      candidate: null,
      canaryPercent: null,
      shadow: null,
      source: null,
      note: `replica ${url} did not say what it runs (${(error as Error).message}); check deploy.metricsUrls`,
    };
  }
}
