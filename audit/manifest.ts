import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { z } from 'zod';
import { sha256File } from '../lib/hash.js';
import { AuditInputError } from './errors.js';

/** The manifest's name inside an export directory. */
export const manifestName = 'manifest.json';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a hex sha256');

const manifestFileSchema = z.strictObject({
  /** Path inside the export, `/`-separated. */
  path: z.string().min(1),
  sha256,
  bytes: z.number().int().min(0),
});

const exportedHistorySchema = z.strictObject({
  file: z.string().min(1),
  workflowId: z.string(),
  runId: z.string(),
  workflowType: z.string(),
  /** `run`: selected by the user; `child`: started by one; `registry`: a model registry it touched. */
  role: z.enum(['run', 'child', 'registry']),
  /** For children and registries: the workflow id of the run that led here. */
  relatedTo: z.string().nullable(),
  events: z.number().int().min(1),
  /** How the execution stood at export: completed, failed, open… */
  status: z.string(),
});

const manifestSchema = z.strictObject({
  format: z.literal('sluice.audit-export/v1'),
  sluiceVersion: z.string(),
  /** sha256 of the workflow code bundle at export (what `sluice worker` would run then). */
  workflowBundleSha256: sha256,
  exportedAt: z.string(),
  exportedBy: z.string(),
  temporal: z.strictObject({ address: z.string(), namespace: z.string(), serverVersion: z.string() }),
  selection: z.union([
    z.strictObject({ runs: z.array(z.string()).min(1) }),
    z.strictObject({ query: z.string().min(1) }),
  ]),
  histories: z.array(exportedHistorySchema).min(1),
  files: z.array(manifestFileSchema).min(1),
});

export type ExportManifest = z.output<typeof manifestSchema>;
export type ExportedHistory = z.output<typeof exportedHistorySchema>;
export type ManifestFile = z.output<typeof manifestFileSchema>;

/**
 * Read and check `<dir>/manifest.json`.
 *
 * @throws AuditInputError when there is no manifest or it is not a Sluice export manifest.
 */
export async function readManifest(dir: string): Promise<ExportManifest> {
  const path = join(dir, manifestName);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new AuditInputError(
      code === 'ENOENT'
        ? `${dir} is not a Sluice audit export: it has no ${manifestName} (create one with \`sluice audit export\`)`
        : `${path} cannot be read (${code ?? (error as Error).message})`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AuditInputError(
      `${path} is not JSON (${(error as Error).message}): the export's manifest is damaged`,
    );
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    throw new AuditInputError(
      `${path} is not a Sluice export manifest: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}

/** The manifest as the text an export holds, checked against the schema first so no writer drifts. */
export function manifestText(manifest: ExportManifest): string {
  return `${JSON.stringify(manifestSchema.parse(manifest), null, 2)}\n`;
}

/** What re-hashing an export found. `ok` only when nothing is missing, changed or extra. */
export interface VerifyResult {
  dir: string;
  manifest: ExportManifest;
  ok: boolean;
  /** Files listed and found with the recorded size and hash. */
  matched: string[];
  missing: string[];
  changed: {
    path: string;
    expected: { sha256: string; bytes: number };
    actual: { sha256: string; bytes: number };
  }[];
  /** Files present in the directory that the manifest does not list. */
  extra: string[];
}

/**
 * Re-hash every file of an export against its manifest. A changed byte anywhere changes a sha256; a
 * removed or added file is named too. The manifest's own signature (`manifest.sig.json`, when the export
 * was signed) is checked by `checkManifestSignature` in `signatures.ts`.
 *
 * @throws AuditInputError when `dir` has no readable manifest.
 */
export async function verifyExport(dir: string): Promise<VerifyResult> {
  const manifest = await readManifest(dir);
  // The manifest and its signature (manifest.sig.json, checked on its own) are not listed in it.
  const present = new Set(
    (await listFiles(dir)).filter((path) => path !== manifestName && path !== 'manifest.sig.json'),
  );
  const result: VerifyResult = { dir, manifest, ok: true, matched: [], missing: [], changed: [], extra: [] };
  for (const file of manifest.files) {
    if (!present.delete(file.path)) {
      result.missing.push(file.path);
      continue;
    }
    const actual = await sha256File(join(dir, ...file.path.split('/')));
    if (actual.sha256 === file.sha256 && actual.bytes === file.bytes) result.matched.push(file.path);
    else
      result.changed.push({ path: file.path, expected: { sha256: file.sha256, bytes: file.bytes }, actual });
  }
  result.extra = [...present].sort();
  result.ok = result.missing.length === 0 && result.changed.length === 0 && result.extra.length === 0;
  return result;
}

/** One line naming every problem, for the CLI's error: `2 changed (a.json, b.json); 1 missing (c.json)`. */
export function describeProblems(result: VerifyResult): string {
  const parts: string[] = [];
  const list = (paths: string[]) => paths.join(', ');
  if (result.changed.length)
    parts.push(`${result.changed.length} changed (${list(result.changed.map((c) => c.path))})`);
  if (result.missing.length) parts.push(`${result.missing.length} missing (${list(result.missing)})`);
  if (result.extra.length) parts.push(`${result.extra.length} not in the manifest (${list(result.extra)})`);
  return parts.join('; ');
}

/** Every regular file under `dir`, as `/`-separated paths relative to it. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
}
