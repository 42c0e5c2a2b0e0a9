import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { sha256Text } from '../lib/hash.js';
import type { CollectedHistory } from './collect-histories.js';
import { AuditInputError } from './errors.js';
import { historyJson } from './history.js';
import { manifestName, manifestText, type ExportManifest, type ManifestFile } from './manifest.js';

/** What the manifest says besides the files: filled in by the caller (versions, server, selection). */
export type ExportHeader = Omit<ExportManifest, 'format' | 'histories' | 'files'>;

/**
 * Write an export: `histories/<workflowId>.json` in Temporal's own JSON format for each history, and
 * `manifest.json` with the sha256 and size of every file. The directory appears whole or not at all:
 * everything is written and fsynced in a sibling temporary directory, which is then renamed into place.
 * A non-empty `out` is refused unless `force`, and then replaced only after the new export is complete.
 *
 * @throws AuditInputError when `out` exists and is a file, or is not empty and `force` is not set.
 */
export async function writeExport(
  out: string,
  histories: CollectedHistory[],
  header: ExportHeader,
  force: boolean,
): Promise<ExportManifest> {
  const target = resolve(out);
  const existing = await entriesOf(target);
  if (existing === 'file')
    throw new AuditInputError(`--out ${out} is a file: give a directory for the export`);
  if (existing !== null && existing.length > 0 && !force) {
    throw new AuditInputError(
      `--out ${out} is not empty (${existing.length} entries): choose a new directory, or pass --force to replace it`,
    );
  }
  await mkdir(dirname(target), { recursive: true });
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await mkdir(join(temp, 'histories'), { recursive: true });
    const files: ManifestFile[] = [];
    const exported: ExportManifest['histories'] = [];
    const names = new Set<string>();
    for (const item of histories) {
      const { facts } = item;
      let name = `histories/${encodeURIComponent(facts.workflowId)}.json`;
      if (names.has(name)) name = `histories/${encodeURIComponent(facts.workflowId)}@${facts.runId}.json`;
      names.add(name);
      const text = historyJson(item.loaded.history);
      await writeDurably(join(temp, name), text);
      files.push({ path: name, sha256: sha256Text(text), bytes: Buffer.byteLength(text) });
      exported.push({
        file: name,
        workflowId: facts.workflowId,
        runId: facts.runId,
        workflowType: facts.workflowType,
        role: item.role,
        relatedTo: item.relatedTo,
        events: facts.events,
        status: facts.close.kind,
      });
    }
    const manifest: ExportManifest = {
      format: 'sluice.audit-export/v1',
      ...header,
      histories: exported,
      files,
    };
    await writeDurably(join(temp, manifestName), manifestText(manifest));
    await syncDir(join(temp, 'histories'));
    await syncDir(temp);
    await replaceDir(temp, target, existing !== null);
    return manifest;
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

/** `null` when nothing is there, `'file'` for a non-directory, else the directory's entries. */
async function entriesOf(path: string): Promise<string[] | 'file' | null> {
  try {
    if (!(await stat(path)).isDirectory()) return 'file';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return readdir(path);
}

/** Put the finished temporary directory at `target`, moving an old one aside and removing it after. */
async function replaceDir(temp: string, target: string, exists: boolean): Promise<void> {
  if (!exists) {
    await rename(temp, target);
  } else {
    const old = `${temp}.old`;
    await rename(target, old);
    try {
      await rename(temp, target);
    } catch (error) {
      await rename(old, target);
      throw error;
    }
    await rm(old, { recursive: true, force: true });
  }
  await syncDir(dirname(target));
}

async function writeDurably(path: string, text: string): Promise<void> {
  const file = await open(path, 'wx');
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
}

async function syncDir(path: string): Promise<void> {
  const dir = await open(path, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
