import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import {
  ExportTamperedError,
  collectHistories,
  currentWorkflowCode,
  describeProblems,
  verifyExport,
  writeExport,
  type Selection,
} from '../../audit/index.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import { connectClient } from '../../client/connect.js';
import { context } from '../commands/shared.js';
import { table } from '../output.js';

export interface ExportOptions {
  query?: string;
  out: string;
  force?: boolean;
}

/** The Sluice version recorded in exports and reports (the package's own). */
export function sluiceVersion(): string {
  const url = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}

/** `sluice audit export <run…> | --query <q> --out <dir>`. */
export async function exportAction(runs: string[], options: ExportOptions, command: Command): Promise<void> {
  const { config, out } = context(command);
  if ((runs.length === 0) === (options.query === undefined)) {
    throw new InvalidInputError(
      'sluice audit export needs run ids or --query <visibility query> (one of the two), e.g. `sluice audit export first-dag-20261123-231500-a1b2c3d4 --out audit/`',
    );
  }
  const selection: Selection = options.query === undefined ? { runs } : { query: options.query };
  const code = currentWorkflowCode();
  const client = await connectClient(config);
  try {
    const [histories, system] = await Promise.all([
      collectHistories(client, selection, config.payloadKeys),
      client.workflowService.getSystemInfo({}),
    ]);
    const manifest = await writeExport(
      options.out,
      histories,
      {
        sluiceVersion: sluiceVersion(),
        workflowBundleSha256: (await code).sha256,
        exportedAt: new Date().toISOString(),
        exportedBy: userInfo().username,
        temporal: {
          address: config.temporal.address,
          namespace: config.temporal.namespace,
          serverVersion: system.serverVersion || 'unknown',
        },
        selection,
      },
      options.force === true,
    );
    out.result({ out: options.out, manifest }, () =>
      [
        table([
          ['file', 'role', 'workflow type', 'events', 'status'],
          ...manifest.histories.map((h) => [h.file, h.role, h.workflowType, String(h.events), h.status]),
        ]),
        '',
        `exported ${manifest.histories.length} histories to ${options.out} (manifest.json holds their sha256; check with: npx sluice audit verify ${options.out})`,
      ].join('\n'),
    );
  } finally {
    await client.connection.close();
  }
}

/** `sluice audit verify <dir>`: re-hash every file; any difference is a non-zero exit naming the files. */
export async function verifyAction(dir: string, command: Command): Promise<void> {
  const { out } = context(command);
  const result = await verifyExport(dir);
  const { manifest } = result;
  out.result(
    {
      dir,
      ok: result.ok,
      matched: result.matched,
      changed: result.changed,
      missing: result.missing,
      extra: result.extra,
      exportedAt: manifest.exportedAt,
      exportedBy: manifest.exportedBy,
      sluiceVersion: manifest.sluiceVersion,
    },
    () =>
      [
        ...result.changed.map(
          (c) =>
            `CHANGED  ${c.path}: sha256 ${c.actual.sha256} (${c.actual.bytes} bytes), manifest says ${c.expected.sha256} (${c.expected.bytes} bytes)`,
        ),
        ...result.missing.map((path) => `MISSING  ${path}`),
        ...result.extra.map((path) => `EXTRA    ${path} (not in the manifest)`),
        result.ok
          ? `OK: all ${result.matched.length} files of ${dir} match its manifest (exported ${manifest.exportedAt} by ${manifest.exportedBy}, Sluice ${manifest.sluiceVersion})`
          : `${result.matched.length} of ${manifest.files.length} files match`,
      ].join('\n'),
  );
  if (!result.ok) {
    throw new ExportTamperedError(`export ${dir} does not match its manifest: ${describeProblems(result)}`);
  }
}
