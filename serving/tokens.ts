import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../lib/fs-atomic.js';
import { InvalidInputError } from '../pipelines/errors.js';

/**
 * What a bearer token lets its holder do over HTTP. The pipeline's approval policy and the registry's
 * rules still apply on top: `approver` lets a caller *submit* a decision as their identity; whether it
 * counts is the gate's policy (approvers, roles, quorum, separation of duties).
 */
export const tokenRoles = ['trigger', 'approver', 'promoter', 'feedback', 'predict'] as const;
export type TokenRole = (typeof tokenRoles)[number];

const idPattern = /^[A-Za-z0-9._@-]{1,128}$/;

const recordSchema = z.strictObject({
  id: z.string().regex(/^tok_[0-9a-f]{12}$/),
  /** sha256 of the whole token, hex. The token itself is shown once, at creation, and never stored. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  identity: z.string().regex(idPattern, 'an id: letters, digits, . _ @ -'),
  roles: z.array(z.enum(tokenRoles)).min(1),
  createdAt: z.string(),
  createdBy: z.string(),
  revokedAt: z.string().optional(),
});
const fileSchema = z.strictObject({ tokens: z.array(recordSchema) });

export type TokenRecord = z.infer<typeof recordSchema>;

/** Who a request is, once its token checked out. */
export interface Caller {
  identity: string;
  roles: readonly TokenRole[];
  tokenId: string;
}

/** Tokens look like `sluice_<64 hex>`: 256 random bits, so one sha256 is enough to store them safely. */
const tokenPattern = /^sluice_[0-9a-f]{64}$/;

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest();

/** Read and check a tokens file; a missing file is no tokens (every protected route then refuses). */
export async function readTokens(file: string): Promise<TokenRecord[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new InvalidInputError(
      `tokens file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}): fix SLUICE_TOKENS_FILE or its permissions`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(
      `tokens file ${file} is not JSON (${(error as Error).message}): recreate it with \`sluice token create\``,
    );
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new InvalidInputError(`tokens file ${file} is invalid: ${issues.join('; ')}`);
  }
  return parsed.data.tokens;
}

export interface CreateTokenOptions {
  identity: string;
  roles: string[];
  createdBy: string;
  now?: Date;
}

/**
 * Add a token for `identity` with `roles` to the file (created 0600 if missing, rewritten atomically)
 * and return it: the only time the token exists outside the caller's hands.
 */
export async function createToken(
  file: string,
  options: CreateTokenOptions,
): Promise<{ token: string; record: TokenRecord }> {
  if (!idPattern.test(options.identity)) {
    throw new InvalidInputError(
      `identity "${options.identity}" is not an id: use letters, digits, . _ @ - (up to 128)`,
    );
  }
  if (options.roles.length === 0) {
    throw new InvalidInputError(`give at least one --role: ${tokenRoles.join(', ')}`);
  }
  for (const role of options.roles) {
    if (!(tokenRoles as readonly string[]).includes(role)) {
      throw new InvalidInputError(`role "${role}" is not a token role: use ${tokenRoles.join(', ')}`);
    }
  }
  const tokens = await readTokens(file);
  const token = `sluice_${randomBytes(32).toString('hex')}`;
  const record: TokenRecord = {
    id: `tok_${randomBytes(6).toString('hex')}`,
    sha256: digest(token).toString('hex'),
    identity: options.identity,
    roles: [...new Set(options.roles)] as TokenRole[],
    createdAt: (options.now ?? new Date()).toISOString(),
    createdBy: options.createdBy,
  };
  await writeTokens(file, [...tokens, record]);
  return { token, record };
}

/** Mark a token revoked (kept in the file, so the audit of who held what stays). */
export async function revokeToken(file: string, id: string, now = new Date()): Promise<TokenRecord> {
  const tokens = await readTokens(file);
  const found = tokens.find((t) => t.id === id);
  if (!found) {
    throw new InvalidInputError(
      `no token ${id} in ${file}: list them with \`sluice token list\` (ids look like tok_0123456789ab)`,
    );
  }
  found.revokedAt ??= now.toISOString();
  await writeTokens(file, tokens);
  return found;
}

async function writeTokens(file: string, tokens: TokenRecord[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFileAtomic(file, `${JSON.stringify({ tokens }, null, 2)}\n`, 0o600);
}

/**
 * The tokens a server checks against, re-read when the file changes (a revocation takes effect on the
 * next request, without a restart). A file that turns unreadable or invalid keeps the last good set
 * and logs, rather than opening or closing every door at once.
 */
export class TokenStore {
  private hashes: { record: TokenRecord; hash: Buffer }[] = [];
  private seen = '';

  constructor(
    readonly file: string,
    private readonly onReloadError: (error: unknown) => void = () => {},
  ) {}

  /** Load now; throws when the file exists but is invalid (a server should not start on it). */
  async load(): Promise<void> {
    this.set(await readTokens(this.file), await this.stamp());
  }

  get size(): number {
    return this.hashes.length;
  }

  /**
   * The caller a token belongs to, or `undefined`. Every live token's hash is compared, in constant
   * time and without stopping at a match, so timing tells nothing about which token (or how much of
   * one) was right.
   */
  async verify(token: string): Promise<Caller | undefined> {
    await this.refresh();
    if (!tokenPattern.test(token)) return undefined;
    const presented = digest(token);
    let match: TokenRecord | undefined;
    for (const { record, hash } of this.hashes) {
      if (timingSafeEqual(presented, hash) && match === undefined) match = record;
    }
    return match && { identity: match.identity, roles: match.roles, tokenId: match.id };
  }

  private async refresh(): Promise<void> {
    const stamp = await this.stamp();
    if (stamp === this.seen) return;
    try {
      this.set(await readTokens(this.file), stamp);
    } catch (error) {
      this.seen = stamp;
      this.onReloadError(error);
    }
  }

  private set(records: TokenRecord[], stamp: string): void {
    this.hashes = records
      .filter((r) => r.revokedAt === undefined)
      .map((record) => ({ record, hash: Buffer.from(record.sha256, 'hex') }));
    this.seen = stamp;
  }

  private async stamp(): Promise<string> {
    try {
      const s = await stat(this.file);
      return `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch {
      return 'absent';
    }
  }
}
