import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { AuditInputError, ExportTamperedError } from './errors.js';
import { parseHistory, type LoadedHistory } from './history.js';
import {
  describeProblems,
  listFiles,
  manifestName,
  verifyExport,
  type ExportedHistory,
  type ExportManifest,
} from './manifest.js';

/** A history read from disk, with the workflow id it ran under and its manifest entry when exported. */
export interface HistoryInput {
  source: string;
  loaded: LoadedHistory;
  workflowId: string;
  exported: ExportedHistory | null;
}

/** What the paths given to `sluice audit replay|report` hold. */
export interface AuditInputs {
  histories: HistoryInput[];
  /** Export directories among the paths, each verified against its manifest. */
  exports: { dir: string; manifest: ExportManifest }[];
  /** JSON files inside a plain directory that are not histories (e.g. an index of workflow ids). */
  skipped: { source: string; reason: string }[];
}

/**
 * Read the histories behind `paths`: an export directory (verified against its manifest first: a
 * changed export is refused, not replayed), a directory of history files (its `.json` documents that
 * are not histories are skipped and listed), or history files, each of which must be a whole history.
 *
 * @throws AuditInputError for a missing path, a file that is not a whole history, or no history at all.
 * @throws ExportTamperedError for an export directory that no longer matches its manifest.
 */
export async function readAuditInputs(paths: readonly string[]): Promise<AuditInputs> {
  const inputs: AuditInputs = { histories: [], exports: [], skipped: [] };
  for (const path of paths) {
    const kind = await kindOf(path);
    if (kind === 'file') {
      inputs.histories.push(await readHistoryFile(path, null));
      continue;
    }
    if (await exists(join(path, manifestName))) {
      const verified = await verifyExport(path);
      if (!verified.ok) {
        throw new ExportTamperedError(
          `export ${path} does not match its manifest (${describeProblems(verified)}): its histories are not evidence; see \`sluice audit verify ${path}\``,
        );
      }
      inputs.exports.push({ dir: path, manifest: verified.manifest });
      for (const entry of verified.manifest.histories) {
        inputs.histories.push(await readHistoryFile(join(path, ...entry.file.split('/')), entry));
      }
      continue;
    }
    for (const file of (await listFiles(path)).filter((f) => f.endsWith('.json'))) {
      const source = join(path, ...file.split('/'));
      const text = await readFile(source, 'utf8');
      if (!looksLikeHistory(text)) {
        inputs.skipped.push({ source, reason: 'not a history (no "events")' });
        continue;
      }
      inputs.histories.push(fromText(text, source, null));
    }
  }
  if (inputs.histories.length === 0) {
    throw new AuditInputError(
      `no histories in ${paths.join(', ')}: give history files (sluice audit export, temporal workflow show --output json) or directories holding them`,
    );
  }
  return inputs;
}

async function readHistoryFile(path: string, exported: ExportedHistory | null): Promise<HistoryInput> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new AuditInputError(`${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return fromText(text, path, exported);
}

function fromText(text: string, source: string, exported: ExportedHistory | null): HistoryInput {
  const loaded = parseHistory(text, source);
  const workflowId =
    loaded.workflowId || exported?.workflowId || decodeURIComponent(basename(source).replace(/\.json$/, ''));
  return { source, loaded, workflowId, exported };
}

/** A JSON document with a top-level `events` key (cheap test before a full parse). */
function looksLikeHistory(text: string): boolean {
  try {
    const json = JSON.parse(text) as unknown;
    return typeof json === 'object' && json !== null && 'events' in json;
  } catch {
    // Not JSON at all: hand it to the full parser, which says whether it was cut short.
    return true;
  }
}

async function kindOf(path: string): Promise<'file' | 'dir'> {
  try {
    return (await stat(path)).isDirectory() ? 'dir' : 'file';
  } catch {
    throw new AuditInputError(`${path} does not exist: give an export directory or a history file`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
