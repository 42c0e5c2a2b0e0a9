import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { createToken, readTokens, revokeToken } from '../../serving/tokens.js';
import { context } from '../commands/shared.js';
import { table } from '../output.js';

export interface TokenCreateOptions {
  identity: string;
  role: string[];
}

/** `sluice token create`: the token is printed once; only its sha256 goes into the file. */
export async function tokenCreateAction(options: TokenCreateOptions, command: Command): Promise<void> {
  const { config, out } = context(command);
  const { token, record } = await createToken(config.serve.tokensFile, {
    identity: options.identity,
    roles: options.role,
    createdBy: userInfo().username,
  });
  const { sha256: _hash, ...shown } = record;
  out.result(
    { token, ...shown, file: config.serve.tokensFile },
    () =>
      `${token}\n` +
      `token ${record.id} for ${record.identity} (${record.roles.join(', ')}) added to ${config.serve.tokensFile}; ` +
      'copy it now: it is not stored and cannot be shown again',
  );
}

/** `sluice token list`. */
export async function tokenListAction(command: Command): Promise<void> {
  const { config, out } = context(command);
  const tokens = (await readTokens(config.serve.tokensFile)).map(({ sha256: _hash, ...rest }) => rest);
  out.result({ file: config.serve.tokensFile, tokens }, () =>
    tokens.length === 0
      ? `no tokens in ${config.serve.tokensFile}: create one with \`sluice token create --identity <id> --role <role>\``
      : table([
          ['id', 'identity', 'roles', 'created', 'by', 'revoked'],
          ...tokens.map((t) => [
            t.id,
            t.identity,
            t.roles.join(','),
            t.createdAt,
            t.createdBy,
            t.revokedAt ?? '-',
          ]),
        ]),
  );
}

/** `sluice token revoke <id>`. */
export async function tokenRevokeAction(id: string, command: Command): Promise<void> {
  const { config, out } = context(command);
  const record = await revokeToken(config.serve.tokensFile, id);
  const { sha256: _hash, ...shown } = record;
  out.result(
    shown,
    () =>
      `revoked ${record.id} (${record.identity}) at ${record.revokedAt ?? ''}; servers refuse it from now on`,
  );
}
