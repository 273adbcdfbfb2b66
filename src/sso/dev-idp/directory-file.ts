import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/** The directory file shipped in the repository; edit it to add users or change their groups. */
export const DEFAULT_DIRECTORY_FILE = path.join(__dirname, 'directory.json');

const directoryUser = z.object({
  username: z.string().regex(/^[A-Za-z0-9._@-]{1,150}$/, 'expected letters, digits and . _ @ - (it becomes the subject)'),
  password: z.string().min(1, 'expected a password'),
  givenName: z.string().default(''),
  familyName: z.string().default(''),
  email: z.string().default(''),
  emailVerified: z.boolean().default(false),
  groups: z.array(z.string()).default([]),
});

const directorySchema = z.object({ users: z.array(directoryUser) });

export type DirectoryUser = z.infer<typeof directoryUser>;

/**
 * Reads and checks the development IdP's directory. Usernames are the subjects (`sub`) and
 * must be unique.
 *
 * @throws Error naming the file and the first problem.
 */
export function loadDirectory(file: string = DEFAULT_DIRECTORY_FILE): DirectoryUser[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`development IdP directory ${file}: cannot be read as JSON (${(error as Error).message})`);
  }
  const parsed = directorySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`development IdP directory ${file}: ${issue.path.join('.')}: ${issue.message}`);
  }
  const seen = new Set<string>();
  for (const user of parsed.data.users) {
    if (seen.has(user.username)) throw new Error(`development IdP directory ${file}: username ${user.username} appears twice`);
    seen.add(user.username);
  }
  return parsed.data.users;
}
