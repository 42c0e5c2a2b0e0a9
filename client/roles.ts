import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { InvalidInputError } from '../pipelines/errors.js';
import type { SluiceConfig } from '../lib/config.js';

const rolesSchema = z.strictObject({
  roles: z.record(
    z.string().regex(/^[A-Za-z0-9._-]+$/, 'a role name: letters, digits, . _ -'),
    z.array(z.string().regex(/^[A-Za-z0-9._@-]+$/, 'an id: letters, digits, . _ @ -')),
  ),
});

export type Roles = Record<string, string[]>;

/**
 * Role membership (`role:risk` in an approval policy, `promoter` for the registry), read from
 * `SLUICE_ROLES_FILE` or `<SLUICE_HOME>/roles.json`. No file at the default place means no roles;
 * a named file that is missing, or any file that does not parse, is an error naming the file.
 */
export async function loadRoles(config: Pick<SluiceConfig, 'roles'>): Promise<Roles> {
  const { file, explicit } = config.roles;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) return {};
    throw new InvalidInputError(
      `roles file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}): fix SLUICE_ROLES_FILE or create the file`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(
      `roles file ${file} is not JSON (${(error as Error).message}): write {"roles": {"<role>": ["<id>", …]}}`,
    );
  }
  const parsed = rolesSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new InvalidInputError(`roles file ${file} is invalid: ${issues.join('; ')}`);
  }
  return parsed.data.roles;
}

/** Whether `id` holds `role`. */
export function hasRole(roles: Roles, id: string, role: string): boolean {
  return (roles[role] ?? []).includes(id);
}
