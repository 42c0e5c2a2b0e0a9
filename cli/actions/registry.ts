import type { Command } from 'commander';
import { InvalidInputError } from '../../pipelines/errors.js';
import type { JsonValue } from '../../pipelines/json.js';
import {
  promoterRole,
  type ModelVersion,
  type PromoteInput,
  type RegistryAliases,
  type RegistryEvent,
} from '../../pipelines/registry.js';
import { approvalShortfall } from '../../pipelines/registry-rules.js';
import type { ModelRef } from '../../pipelines/model.js';
import type { RegistryDescription } from '../../pipelines/registry.js';
import type { SluiceConfig } from '../../lib/config.js';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import { readModelManifest } from '../../lib/model/model-artifact.js';
import {
  describeRequestContract,
  requestContract,
  type RequestContract,
} from '../../lib/model/feature-program.js';
import { loadRoles } from '../../client/roles.js';
import { connectClient } from '../../client/connect.js';
import { context } from '../commands/shared.js';
import { showVersion } from './control-reads.js';
import { table } from '../output.js';
import { answered, describeModel, modelHistory, promoteModel, rollbackModel } from '../../client/registry.js';

export interface ModelsOptions {
  history?: boolean;
}

export interface PromoteOptions {
  as: string;
  reason: string;
  approvedRun?: string;
}

export interface RollbackOptions {
  as: string;
  reason: string;
}

/** `sluice models <name>`: one model's versions from its registry (the list: control-reads.ts). */
export async function modelsAction(name: string, options: ModelsOptions, command: Command) {
  const { config, out } = context(command);
  const client = await connectClient(config);
  try {
    const description = await answered(client, config, name, 'query', () => describeModel(client, name));
    const events = options.history
      ? await answered(client, config, name, 'query', () => modelHistory(client, name))
      : undefined;
    const request = await requestOf(config, description).catch(() => null);
    out.result({ ...description, request, ...(events ? { events } : {}) }, () => {
      const rows = [
        ['version', 'aliases', 'model', 'run', 'approval', 'metrics', 'registered'],
        ...description.versions.map((v) => versionRow(v, description.aliases)),
      ];
      const traffic = description.traffic;
      const split =
        traffic && traffic.version !== null
          ? `; traffic: v${traffic.version} canary ${traffic.canaryPercent} %, shadow ${traffic.shadow ? 'on' : 'off'} (set by ${traffic.by ?? '?'} at ${traffic.at ?? '?'})`
          : '; traffic: production answers everything';
      const head = `model ${name}: ${description.versions.length} version(s); production ${showVersion(description.aliases.production)}, candidate ${showVersion(description.aliases.candidate)}, previous ${showVersion(description.aliases.previous)}${split}`;
      const contract = request ? [`v${request.version}: ${describeRequestContract(request)}`] : [];
      return [head, table(rows), ...contract, ...(events ? ['', ...events.map(describeEvent)] : [])].join(
        '\n',
      );
    });
  } finally {
    await client.connection.close();
  }
}

/** The request contract of the production version (else the newest): which source columns a request sends. */
async function requestOf(
  config: SluiceConfig,
  description: RegistryDescription,
): Promise<(RequestContract & { version: number }) | null> {
  const wanted = description.aliases.production ?? description.versions.at(-1)?.version;
  const entry = description.versions.find((v) => v.version === wanted);
  if (!entry) return null;
  const store = createArtifactStore(config.home, config.artifacts);
  const manifest = await readModelManifest(store, { ...entry.model, kind: 'model' } as ModelRef);
  return { version: entry.version, ...requestContract(manifest.transform) };
}

/** `sluice promote <model> <version>`: an explicit, recorded, authorised promotion. */
export async function promoteAction(
  model: string,
  versionText: string,
  options: PromoteOptions,
  command: Command,
) {
  const { config, out } = context(command);
  const version = parseVersion(model, versionText);
  const request: PromoteInput = options.approvedRun
    ? {
        version,
        by: options.as,
        reason: options.reason,
        authorisedBy: 'approved-run',
        approvedRun: options.approvedRun,
      }
    : {
        version,
        by: options.as,
        reason: options.reason,
        authorisedBy: `role:${promoterRole}`,
        roleMembers: (await loadRoles(config))[promoterRole] ?? [],
      };
  const client = await connectClient(config);
  try {
    const result = await answered(client, config, model, 'update', () =>
      promoteModel(client, model, request),
    );
    out.result({ model, ...result }, () =>
      result.outcome === 'unchanged'
        ? `model ${model} v${version} already is in production: nothing changed`
        : `model ${model} v${version} is in production (previous: ${showVersion(result.aliases.previous)}), promoted by ${options.as} as ${request.authorisedBy}`,
    );
  } finally {
    await client.connection.close();
  }
}

/** `sluice rollback <model>`: put the previous production version back. */
export async function rollbackAction(model: string, options: RollbackOptions, command: Command) {
  const { config, out } = context(command);
  const roleMembers = (await loadRoles(config))[promoterRole] ?? [];
  const client = await connectClient(config);
  try {
    const result = await answered(client, config, model, 'update', () =>
      rollbackModel(client, model, {
        by: options.as,
        reason: options.reason,
        authorisedBy: `role:${promoterRole}`,
        roleMembers,
      }),
    );
    out.result(
      { model, ...result },
      () =>
        `model ${model} rolled back from v${result.from} to v${result.version} by ${options.as} (previous: ${showVersion(result.aliases.previous)})`,
    );
  } finally {
    await client.connection.close();
  }
}

/** `3` or `v3` → 3; anything else is refused with an example. */
export function parseVersion(model: string, text: string): number {
  const match = /^v?(\d{1,9})$/.exec(text.trim());
  const version = match ? Number(match[1]) : Number.NaN;
  if (!Number.isInteger(version) || version < 1) {
    throw new InvalidInputError(
      `version "${text}" of model ${model} is not a version number: give a whole number from 1, e.g. \`sluice promote ${model} 3 --as <you> --reason "<why>"\``,
    );
  }
  return version;
}

/** One line per event: `#3 2026-11-24T10:00:00Z promoted v1 by ann (approved-run): approved by risk`. */
export function describeEvent(event: RegistryEvent): string {
  const head = `#${event.seq} ${event.at}`;
  switch (event.type) {
    case 'registered':
      return `${head} registered v${event.version} by ${event.by} from run ${event.workflowId}`;
    case 'promoted':
      return `${head} promoted v${event.version} (was ${showVersion(event.from)}) by ${event.by} as ${event.authorisedBy}: ${event.reason}`;
    case 'rolled-back':
      return `${head} rolled back v${event.from} to v${event.version} by ${event.by} as ${event.authorisedBy}: ${event.reason}`;
    case 'traffic':
      return `${head} traffic for v${event.version}: canary ${event.canaryPercent}%, shadow ${event.shadow ? 'on' : 'off'} by ${event.by} as ${event.authorisedBy}: ${event.reason}`;
    case 'refused':
      return `${head} REFUSED ${event.action}${event.version === null ? '' : ` v${event.version}`} by ${event.by}: ${event.refusal} (reason given: ${event.reason})`;
  }
}

function versionRow(v: ModelVersion, aliases: RegistryAliases): string[] {
  const names = (['production', 'candidate', 'previous'] as const).filter(
    (alias) => aliases[alias] === v.version,
  );
  const shortfall = approvalShortfall(v);
  const approvers = v.approvals.filter((a) => a.decision === 'approve').map((a) => a.approver);
  return [
    `v${v.version}`,
    names.join(',') || '-',
    v.model.sha256.slice(0, 12),
    v.workflowId,
    shortfall === undefined ? `approved (${approvers.join(', ')})` : v.approvals.length ? 'rejected' : '-',
    compactMetrics(v.metrics),
    v.registeredAt,
  ];
}

/** Up to four headline figures: `auc=0.712 logLoss=0.541`. */
function compactMetrics(metrics: Record<string, JsonValue>): string {
  const figures = Object.entries(metrics).flatMap(([name, value]) => {
    const number =
      typeof value === 'number'
        ? value
        : typeof value === 'object' &&
            value !== null &&
            !Array.isArray(value) &&
            typeof value['value'] === 'number'
          ? value['value']
          : undefined;
    return number === undefined ? [] : [`${name}=${Number(number.toFixed(3))}`];
  });
  return figures.slice(0, 4).join(' ') || '-';
}
