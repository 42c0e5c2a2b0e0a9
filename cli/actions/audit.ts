import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { sluiceVersion } from '../../lib/package-info.js';
import {
  ExportTamperedError,
  checkApprovalSignatures,
  checkManifestSignature,
  collectHistories,
  currentWorkflowCode,
  describeProblems,
  manifestSignatureName,
  parseHistory,
  signExport,
  verifyExport,
  writeExport,
  type Selection,
} from '../../audit/index.js';
import { loadKeys, openSigningKey } from '../../lib/keys.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import { connectClient } from '../../client/connect.js';
import { context } from '../commands/shared.js';
import { table } from '../output.js';

export interface ExportOptions {
  query?: string;
  out: string;
  force?: boolean;
  /** An operator's private key: the manifest is signed with it (`manifest.sig.json`). */
  signKey?: string;
}

/** The Sluice version recorded in exports and reports (the package's own). */
export { sluiceVersion };

/** `sluice audit export <run…> | --query <q> --out <dir>`. */
export async function exportAction(runs: string[], options: ExportOptions, command: Command): Promise<void> {
  const { config, out } = context(command);
  if ((runs.length === 0) === (options.query === undefined)) {
    throw new InvalidInputError(
      'sluice audit export needs run ids or --query <visibility query> (one of the two), e.g. `sluice audit export first-dag-20261123-231500-a1b2c3d4 --out audit/`',
    );
  }
  const selection: Selection = options.query === undefined ? { runs } : { query: options.query };
  const signingKey = options.signKey ? await openSigningKey(options.signKey) : undefined;
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
    const signedBy = signingKey ? await signExport(options.out, signingKey) : null;
    out.result({ out: options.out, manifest, signedBy }, () =>
      [
        table([
          ['file', 'role', 'workflow type', 'events', 'status'],
          ...manifest.histories.map((h) => [h.file, h.role, h.workflowType, String(h.events), h.status]),
        ]),
        '',
        `exported ${manifest.histories.length} histories to ${options.out} (manifest.json holds their sha256` +
          `${signedBy ? `, signed with key ${signedBy} in ${manifestSignatureName}` : ', unsigned: --sign-key <pem> signs it'}` +
          `; check with: npx sluice audit verify ${options.out})`,
      ].join('\n'),
    );
  } finally {
    await client.connection.close();
  }
}

/**
 * `sluice audit verify <dir>`: check the manifest's signature against the keys file, re-hash every
 * file, and re-check every signed approval in the histories offline. Any failure is a non-zero exit
 * naming what failed.
 */
export async function verifyAction(dir: string, command: Command): Promise<void> {
  const { config, out } = context(command);
  const signature = await checkManifestSignature(dir, await loadKeys(config.keys.file));
  const result = await verifyExport(dir);
  const { manifest } = result;
  const histories = await Promise.all(
    manifest.histories
      .filter((h) => h.role !== 'registry')
      .map(async (h) => {
        const source = join(dir, ...h.file.split('/'));
        const loaded = parseHistory(await readFile(source, 'utf8').catch(() => '{}'), source);
        return { source, loaded, workflowId: h.workflowId, exported: h };
      }),
  ).catch(() => []);
  const approvals = checkApprovalSignatures(histories);
  const badApprovals = approvals.filter((a) => !a.ok);
  const ok = result.ok && signature.state !== 'invalid' && badApprovals.length === 0;
  out.result(
    {
      dir,
      ok,
      signature,
      approvals,
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
        signature.state === 'valid'
          ? `SIGNED   manifest.json by ${signature.identity} with key ${signature.keyId} at ${signature.signedAt}: valid`
          : signature.state === 'unsigned'
            ? `UNSIGNED manifest.json has no ${manifestSignatureName}: the export proves only that its files match the manifest`
            : `INVALID SIGNATURE  manifest.json: ${signature.reason}`,
        ...result.changed.map(
          (c) =>
            `CHANGED  ${c.path}: sha256 ${c.actual.sha256} (${c.actual.bytes} bytes), manifest says ${c.expected.sha256} (${c.expected.bytes} bytes)`,
        ),
        ...result.missing.map((path) => `MISSING  ${path}`),
        ...result.extra.map((path) => `EXTRA    ${path} (not in the manifest)`),
        ...approvals.map(
          (a) =>
            `${a.ok ? 'APPROVAL' : 'BAD APPROVAL SIGNATURE'} ${a.workflowId} gate ${a.gate}: ${a.approver} ${a.decision}, ${a.reason}`,
        ),
        ok
          ? `OK: all ${result.matched.length} files of ${dir} match its manifest (exported ${manifest.exportedAt} by ${manifest.exportedBy}, Sluice ${manifest.sluiceVersion})`
          : `${result.matched.length} of ${manifest.files.length} files match`,
      ].join('\n'),
  );
  const problems = [
    ...(signature.state === 'invalid' ? [`invalid signature on manifest.json (${signature.reason})`] : []),
    ...(result.ok ? [] : [describeProblems(result)]),
    ...badApprovals.map((a) => `approval by ${a.approver} in ${a.workflowId} (${a.reason})`),
  ];
  if (problems.length > 0) {
    throw new ExportTamperedError(`export ${dir} fails verification: ${problems.join('; ')}`);
  }
}
