import { existsSync } from 'node:fs';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import {
  buildAuditReport,
  collectHistories,
  decryptHistory,
  markArtifacts,
  readAuditInputs,
  renderHtml,
  renderMarkdown,
  reportBlocks,
  requireKeys,
  type AuditReport,
  type ExportInfo,
  type ReportSource,
} from '../../audit/index.js';
import { writeFileAtomic } from '../../lib/fs-atomic.js';
import { sha256Text } from '../../lib/hash.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import type { SluiceConfig } from '../../lib/config.js';
import { connectClient } from '../../client/connect.js';
import { context } from '../commands/shared.js';
import { sluiceVersion } from './audit.js';

export interface ReportOptions {
  format?: string;
  out?: string;
}

const formats = ['md', 'html', 'json'] as const;
type Format = (typeof formats)[number];

/**
 * `sluice audit report <run|dir|file> [--format html|md|json] [--out file]`: explain runs from their
 * histories alone. A path is read as an export (verified first) or history files; anything else is a
 * run id whose history (with children and registries) is fetched from Temporal first.
 */
export async function reportAction(target: string, options: ReportOptions, command: Command): Promise<void> {
  const { config, out } = context(command);
  const format = chooseFormat(options, out.json);
  const { sources, exportInfo } = existsSync(target)
    ? await fromFiles(target)
    : await fromServer(config, target);
  requireKeys(sources, config.payloadKeys);
  const readable = sources.map((s) => ({ ...s, loaded: decryptHistory(s.loaded, config.payloadKeys) }));
  const built = buildAuditReport(readable, {
    generatedAt: new Date().toISOString(),
    generatedBy: `Sluice ${sluiceVersion()}`,
    export: exportInfo,
  });
  const report = await withArtifactPresence(built, config);
  const text =
    format === 'json'
      ? `${JSON.stringify(report, null, 2)}\n`
      : format === 'html'
        ? renderHtml(reportBlocks(report))
        : renderMarkdown(reportBlocks(report));
  if (options.out === undefined) {
    if (out.json) out.result(report, () => text);
    else process.stdout.write(text);
    return;
  }
  await writeFileAtomic(options.out, text);
  const summary = {
    out: options.out,
    format,
    bytes: Buffer.byteLength(text),
    sha256: sha256Text(text),
    runs: report.runs.map((r) => ({ workflowId: r.workflowId, state: r.state })),
    histories: report.sources.length,
  };
  out.result(
    summary,
    () =>
      `wrote the ${format} report of ${report.runs.map((r) => `${r.workflowId} (${r.state})`).join(', ') || 'no pipeline run'} to ${options.out} (${report.sources.length} histories)`,
  );
}

function chooseFormat(options: ReportOptions, json: boolean): Format {
  const fromOut = options.out
    ? extname(options.out)
        .slice(1)
        .replace(/^htm$/, 'html')
        .replace(/^markdown$/, 'md')
    : '';
  const format = options.format ?? (formats.includes(fromOut as Format) ? fromOut : json ? 'json' : 'md');
  if (!formats.includes(format as Format)) {
    throw new InvalidInputError(`--format ${format} is not a report format: use md, html or json`);
  }
  if (json && options.out === undefined && format !== 'json') {
    throw new InvalidInputError(
      `--json prints the report as JSON; for --format ${format} give --out <file> as well (then --json prints where it went)`,
    );
  }
  return format as Format;
}

async function fromFiles(path: string): Promise<{ sources: ReportSource[]; exportInfo: ExportInfo | null }> {
  const inputs = await readAuditInputs([path]);
  const [exported] = inputs.exports;
  const hashes = new Map(exported?.manifest.files.map((f) => [f.path, f.sha256]) ?? []);
  return {
    sources: inputs.histories.map((h) => ({
      source: h.source,
      loaded: h.loaded,
      exported: h.exported,
      sha256: h.exported ? (hashes.get(h.exported.file) ?? null) : null,
    })),
    exportInfo: exported
      ? {
          dir: exported.dir,
          exportedAt: exported.manifest.exportedAt,
          exportedBy: exported.manifest.exportedBy,
          sluiceVersion: exported.manifest.sluiceVersion,
          workflowBundleSha256: exported.manifest.workflowBundleSha256,
          temporalServerVersion: exported.manifest.temporal.serverVersion,
        }
      : null,
  };
}

async function fromServer(
  config: SluiceConfig,
  workflowId: string,
): Promise<{ sources: ReportSource[]; exportInfo: ExportInfo | null }> {
  const client = await connectClient(config);
  try {
    const histories = await collectHistories(client, { runs: [workflowId] }, config.payloadKeys);
    return {
      sources: histories.map((h) => ({
        source: `${config.temporal.address}/${config.temporal.namespace}: ${h.facts.workflowId}`,
        loaded: h.loaded,
        exported: null,
        sha256: null,
      })),
      exportInfo: null,
    };
  } finally {
    await client.connection.close();
  }
}

/** Ask the artifact store which artifacts it still holds (cheap: no hashing). */
async function withArtifactPresence(report: AuditReport, config: SluiceConfig): Promise<AuditReport> {
  const store = createArtifactStore(config.home, config.artifacts);
  const present = new Map<string, boolean>();
  for (const sha of new Set(report.runs.flatMap((r) => r.artifacts.map((a) => a.sha256)))) {
    present.set(sha, await store.has(sha));
  }
  return markArtifacts(report, present);
}
