import type * as tfType from '@tensorflow/tfjs';
import { ArtifactIntegrityError, type ArtifactStorage } from '../lib/artifacts/index.js';
import { hash32 } from '../lib/model/hash-bucket.js';
import { oneLine } from '../pipelines/errors.js';
import type { ModelVersion, RegistryDescription } from '../pipelines/registry.js';
import type { Log } from '../worker/logging.js';
import { ServingRequestError } from '../lib/http-error.js';
import { requestContract } from '../lib/model/feature-program.js';
import { loadModelVersion, type LoadedModel } from '../lib/model/loaded-model.js';
import type { ServingMetrics } from './metrics.js';

/** Reads a model's registry entry: `describeModel` against Temporal in production, a fixed in-memory entry in the serving bench. */
export type RegistryReader = (model: string) => Promise<RegistryDescription>;

/**
 * How one model is served: production always; the candidate too when canary or shadow is set. Without
 * `canaryPercent` and `shadow` the split follows the registry's traffic, which a deploy step sets
 * (docs/deploy.md); either one given is a manual override that the registry does not change.
 */
export interface DeploymentOptions {
  model: string;
  /** Share of requests (0–100) the candidate answers instead of production. */
  canaryPercent?: number;
  /** The candidate scores every request beside production, whose answer is returned. */
  shadow?: boolean;
}

/** The split a replica applies: from the registry, or the operator's override. */
export interface Split {
  canaryPercent: number;
  shadow: boolean;
  source: 'registry' | 'override';
}

/** Which loaded version answers a request, and which (if any) scores it in the shadow. */
export interface Route {
  primary: LoadedModel;
  role: 'production' | 'canary' | 'pinned';
  shadow: LoadedModel | null;
}

interface Slot {
  model: string;
  /** The operator's `--canary` / `--shadow`, which wins over the registry; null to follow it. */
  override: { canaryPercent: number; shadow: boolean } | null;
  /** What this replica applies now (refreshed from the registry on every poll). */
  split: Split;
  production: LoadedModel | null;
  candidate: LoadedModel | null;
  description: RegistryDescription | null;
  /** Versions refused at load (integrity), with why: alerted once, retried on every refresh. */
  refused: Map<number, string>;
  refreshing: Promise<void> | null;
}

/**
 * The models a server answers for, by registry alias. A refresh reads the registry, loads any new
 * production or candidate version completely (hash-verified) and only then switches the pointer, so
 * requests never wait on a load and never see half a model; the version it replaces is retired and
 * freed once its in-flight requests have answered.
 */
export class ModelPool {
  private readonly slots = new Map<string, Slot>();

  constructor(
    private readonly tf: typeof tfType,
    private readonly store: ArtifactStorage,
    private readonly registry: RegistryReader,
    private readonly log: Log,
    private readonly metrics: ServingMetrics,
    deployments: DeploymentOptions[],
  ) {
    for (const d of deployments) {
      const percent = d.canaryPercent ?? 0;
      if (!(percent >= 0 && percent <= 100)) {
        throw new RangeError(`canary percent for ${d.model} is ${percent}; give 0 to 100`);
      }
      const override =
        d.canaryPercent === undefined && d.shadow === undefined
          ? null
          : { canaryPercent: percent, shadow: d.shadow ?? false };
      this.slots.set(d.model, {
        model: d.model,
        override,
        split: {
          canaryPercent: percent,
          shadow: d.shadow ?? false,
          source: override ? 'override' : 'registry',
        },
        production: null,
        candidate: null,
        description: null,
        refused: new Map(),
        refreshing: null,
      });
    }
  }

  /** Model names this server answers for. */
  get models(): string[] {
    return [...this.slots.keys()];
  }

  /** Ready when every configured model has its production version loaded. */
  get ready(): boolean {
    return [...this.slots.values()].every((s) => s.production !== null);
  }

  /** Refresh every model; one model's registry being unreachable does not stop the others. */
  async refreshAll(): Promise<void> {
    await Promise.all(this.models.map((m) => this.refresh(m)));
  }

  /** Bring one model in line with its registry aliases (concurrent calls share one refresh). */
  async refresh(model: string): Promise<void> {
    const slot = this.slot(model);
    slot.refreshing ??= this.doRefresh(slot).finally(() => (slot.refreshing = null));
    return slot.refreshing;
  }

  /**
   * Pick the version for a request and hold it until {@link release}. The canary split hashes the
   * request id, so a client retrying with the same id gets the same version.
   */
  route(model: string, requestId: string, version?: number): Route {
    const slot = this.slot(model);
    const { production, candidate } = slot;
    if (version !== undefined) {
      const pinned = [production, candidate].find((m) => m?.version === version);
      if (!pinned) throw this.unknownVersion(slot, version);
      pinned.acquire();
      return { primary: pinned, role: 'pinned', shadow: null };
    }
    if (!production) {
      throw new ServingRequestError(
        503,
        'NOT_READY',
        `${model} has no production version loaded yet; promote one with \`sluice promote ${model} <version> --as <you> --reason "<why>"\` or wait for /readyz`,
      );
    }
    const canary =
      candidate !== null &&
      slot.split.canaryPercent > 0 &&
      hash32(requestId) % 100 < slot.split.canaryPercent;
    const primary = canary ? candidate : production;
    const shadow = !canary && slot.split.shadow && candidate !== null ? candidate : null;
    primary.acquire();
    shadow?.acquire();
    return { primary, role: canary ? 'canary' : 'production', shadow };
  }

  /** What `GET /v1/models/:model` shows: registry versions, aliases, what is loaded and the split. */
  describe(model: string): Record<string, unknown> {
    const slot = this.slot(model);
    const loaded = (m: LoadedModel | null) =>
      m && { version: m.version, sha256: m.sha256, loadedAt: m.loadedAt, inFlight: m.active };
    const canary = slot.candidate && slot.split.canaryPercent > 0 ? slot.split.canaryPercent : 0;
    return {
      model,
      aliases: slot.description?.aliases ?? null,
      versions: (slot.description?.versions ?? []).map((v) => ({
        version: v.version,
        registeredAt: v.registeredAt,
        sha256: v.model.sha256,
        metrics: v.metrics,
        runId: v.runId,
      })),
      loaded: { production: loaded(slot.production), candidate: loaded(slot.candidate) },
      traffic: {
        production: slot.production ? 100 - canary : 0,
        canary,
        shadow: slot.split.shadow && slot.candidate !== null,
        candidate: slot.candidate?.version ?? null,
        source: slot.split.source,
      },
      features: slot.production?.manifest.metadata.features ?? null,
      // What a predict request sends (source columns) and what the model computes from it.
      request: slot.production ? requestContract(slot.production.manifest.transform) : null,
      unit: slot.production?.manifest.transform.label.unit ?? null,
      task: slot.production?.manifest.metadata.task ?? null,
      classes: slot.production?.manifest.transform.label.classes ?? null,
      refused: Object.fromEntries(slot.refused),
    };
  }

  /** Retire everything (server shutdown). */
  close(): void {
    for (const slot of this.slots.values()) {
      slot.production?.retire();
      slot.candidate?.retire();
      slot.production = slot.candidate = null;
    }
  }

  /** The configured slot, or a 404 that names the models served and how to serve another. */
  private slot(model: string): Slot {
    const slot = this.slots.get(model);
    if (!slot) {
      throw new ServingRequestError(
        404,
        'UNKNOWN_MODEL',
        `model "${model}" is not served here (serving: ${this.models.join(', ') || 'none'}); start \`sluice serve --model ${model}\` to serve it`,
      );
    }
    return slot;
  }

  private unknownVersion(slot: Slot, version: number): ServingRequestError {
    const loaded = [slot.production, slot.candidate].filter((m) => m !== null).map((m) => m.version);
    const known = slot.description?.versions.some((v) => v.version === version) ?? false;
    const fix = known
      ? `it is registered but not loaded; promote it, or serve it as the candidate with --canary or --shadow`
      : `${slot.model} has versions ${slot.description?.versions.map((v) => v.version).join(', ') || 'none'}`;
    return new ServingRequestError(
      404,
      'UNKNOWN_VERSION',
      `${slot.model} v${version} is not loaded (loaded: ${loaded.join(', ') || 'none'}); ${fix}`,
    );
  }

  private async doRefresh(slot: Slot): Promise<void> {
    const { model } = slot;
    const description = await this.registry(model);
    slot.description = description;
    const { production, candidate } = description.aliases;
    const split = slot.override
      ? { ...slot.override, source: 'override' as const }
      : registrySplit(description);
    const wantCandidate = split.canaryPercent > 0 || split.shadow;
    const nextProduction = await this.resolve(slot, production);
    const nextCandidate =
      wantCandidate && candidate !== null && candidate !== production
        ? await this.resolve(slot, candidate)
        : null;
    const before = [slot.production, slot.candidate];
    // A version that failed to load keeps its predecessor answering rather than leaving a gap.
    const newProduction = nextProduction === undefined ? slot.production : nextProduction;
    const newCandidate = nextCandidate === undefined ? slot.candidate : nextCandidate;
    slot.production = newProduction;
    slot.candidate = newCandidate;
    if (split.canaryPercent !== slot.split.canaryPercent || split.shadow !== slot.split.shadow) {
      this.log.info(
        { model, candidate: newCandidate?.version ?? null, ...split },
        `traffic for ${model} now canary ${split.canaryPercent}%${split.shadow ? ', shadow on' : ''} (from the ${split.source})`,
      );
    }
    slot.split = split;
    for (const old of before) {
      if (old && old !== newProduction && old !== newCandidate) old.retire();
    }
    this.metrics.loaded.reset();
    for (const s of this.slots.values()) {
      if (s.production)
        this.metrics.loaded.set(
          { model: s.model, version: String(s.production.version), alias: 'production' },
          1,
        );
      if (s.candidate)
        this.metrics.loaded.set(
          { model: s.model, version: String(s.candidate.version), alias: 'candidate' },
          1,
        );
    }
    if (before[0]?.version !== newProduction?.version) {
      this.log.info(
        { model, from: before[0]?.version ?? null, to: newProduction?.version ?? null },
        'production version switched',
      );
    }
  }

  /**
   * The loaded model for a version: the one already in memory, a freshly loaded one, `null` when no
   * version holds the alias, or `undefined` when loading failed (the caller keeps what it has).
   */
  private async resolve(slot: Slot, version: number | null): Promise<LoadedModel | null | undefined> {
    if (version === null) return null;
    const current = [slot.production, slot.candidate].find((m) => m?.version === version);
    if (current) return current;
    const entry = slot.description?.versions.find((v) => v.version === version);
    if (!entry) return undefined;
    return this.load(slot, entry);
  }

  private async load(slot: Slot, entry: ModelVersion): Promise<LoadedModel | undefined> {
    const { model } = slot;
    try {
      const loaded = await loadModelVersion(this.tf, this.store, model, entry);
      slot.refused.delete(entry.version);
      this.log.info({ model, version: entry.version, sha256: entry.model.sha256 }, 'model version loaded');
      return loaded;
    } catch (error) {
      const reason = error instanceof ArtifactIntegrityError ? 'integrity' : 'load-failed';
      const message = oneLine(error);
      if (slot.refused.get(entry.version) !== message) {
        slot.refused.set(entry.version, message);
        this.metrics.loadFailures.inc({ model, version: String(entry.version), reason });
        this.log.error(
          {
            alert: 'model-refused',
            model,
            version: entry.version,
            sha256: entry.model.sha256,
            reason,
            err: error,
          },
          `${model} v${entry.version} refused: not loaded, the current version keeps serving`,
        );
      }
      return undefined;
    }
  }
}

/** The registry's split for its current candidate; none when it names another version (or none). */
export function registrySplit(description: RegistryDescription): Split {
  const traffic = description.traffic;
  if (!traffic || traffic.version === null || traffic.version !== description.aliases.candidate) {
    return { canaryPercent: 0, shadow: false, source: 'registry' };
  }
  return { canaryPercent: traffic.canaryPercent, shadow: traffic.shadow, source: 'registry' };
}
