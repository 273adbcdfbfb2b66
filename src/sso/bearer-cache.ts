import type { EntityManager } from '@mikro-orm/postgresql';
import { createHash } from 'node:crypto';
import { MembershipSource } from '../users/user-group.entity';
import type { User } from '../users/user.entity';
import { USER_COLUMNS, userFromRow, type UserRow } from '../users/users.queries';
import type { DirectoryGroupsSource } from './directory';
import type { SsoLoginOutcome } from './sso-login';

/*
 * What a provider access token's sign-in came to, kept so that the API requests carrying the same
 * token do not run the whole sign-in again (which re-maps the claims, re-reads the identity,
 * memberships and profile, and writes nothing when nothing changed). A remembered outcome is used
 * only while everything the sign-in read is as it left it — one statement checks the identity,
 * the account (active, profile), its rule-granted memberships and the rule-set version, and the
 * person's SCIM groups are read again — so it answers exactly as the sign-in would have, and
 * anything else (a rule changed anywhere, the account disabled, a membership removed, a SCIM
 * push) sends the request through the whole sign-in again, which refuses or re-maps as before.
 * Bounded: at most MAX_ENTRIES tokens, each kept no longer than the token is valid and at most
 * MAX_AGE_MS; the least recently used goes first.
 */

const MAX_ENTRIES = 10_000;
const MAX_AGE_MS = 10 * 60_000;

interface Entry {
  expiresAt: number;
  issuer: string;
  subject: string;
  userId: number;
  /** The rule-set version read before the sign-in that made this entry. */
  rulesVersion: string;
  /** `group:rule` of the memberships the sign-in's matches give, sorted. */
  ruleMemberships: string;
  /** The person's SCIM groups as read before the sign-in, sorted; null when nothing provides them. */
  directoryGroups: string | null;
  firstName: string;
  lastName: string;
  email: string;
}

/** The version of the mapping rules (see RuleSetVersion). */
export async function rulesVersion(em: EntityManager): Promise<string> {
  const [row] = await em.execute<Array<{ version: string }>>('select version from sso_rule_set_version where id = 1');
  return String(row?.version ?? '0');
}

export class BearerOutcomeCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly directoryGroups: DirectoryGroupsSource | undefined) {}

  /** The key of `jwt`: its SHA-256, so that no token is kept in memory. */
  static keyOf(jwt: string): string {
    return createHash('sha256').update(jwt).digest('base64url');
  }

  /** What to record before a sign-in, to know afterwards whether its outcome can be reused. */
  async before(em: EntityManager, issuer: string, subject: string): Promise<{ rulesVersion: string; directoryGroups: string | null }> {
    return {
      rulesVersion: await rulesVersion(em),
      directoryGroups: await this.readDirectoryGroups(em, issuer, subject),
    };
  }

  /** Remembers the outcome of an allowed sign-in by `key`'s token, valid until `tokenExpiresAt` (ms). */
  remember(
    key: string,
    tokenExpiresAt: number,
    read: { rulesVersion: string; directoryGroups: string | null },
    issuer: string,
    subject: string,
    outcome: SsoLoginOutcome,
  ): void {
    const expiresAt = Math.min(tokenExpiresAt, Date.now() + MAX_AGE_MS);
    if (!(expiresAt > Date.now())) return;
    const { user } = outcome;
    this.entries.delete(key);
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, {
      expiresAt,
      issuer,
      subject,
      userId: user.id,
      ...read,
      ruleMemberships: membershipKey(outcome.matches.map((m) => [m.rule.group.id, m.rule.id])),
      firstName: user.firstName,
      lastName: user.lastName,
      email: user.email,
    });
  }

  /**
   * The user of `key`'s token when its remembered outcome still holds (see above), as a
   * read-only snapshot; null when there is none or it no longer holds (then forgotten).
   */
  async recall(em: EntityManager, key: string): Promise<User | null> {
    const entry = this.entries.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return null;
    }
    const [row] = await em.execute<Array<UserRow & { rules_version: string; rule_memberships: string }>>(
      `select ${USER_COLUMNS}, (select version from sso_rule_set_version where id = 1) as rules_version,
              coalesce((select string_agg(ug.group_id || ':' || ug.rule_id, ',' order by ug.group_id, ug.rule_id)
                          from auth_user_groups ug where ug.user_id = u.id and ug.source = ?), '') as rule_memberships
         from sso_identity i join auth_user u on u.id = i.user_id
        where i.issuer = ? and i.subject = ?`,
      [MembershipSource.SSO_RULE, entry.issuer, entry.subject],
    );
    const holds =
      row &&
      row.id === entry.userId &&
      row.is_active &&
      String(row.rules_version) === entry.rulesVersion &&
      row.rule_memberships === entry.ruleMemberships &&
      row.first_name === entry.firstName &&
      row.last_name === entry.lastName &&
      row.email === entry.email &&
      (await this.readDirectoryGroups(em, entry.issuer, entry.subject)) === entry.directoryGroups;
    if (!holds) {
      this.entries.delete(key);
      return null;
    }
    // Most recently used last: the first entry is the one to drop.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return userFromRow(row);
  }

  private async readDirectoryGroups(em: EntityManager, issuer: string, subject: string): Promise<string | null> {
    if (!this.directoryGroups) return null;
    return JSON.stringify([...(await this.directoryGroups(em, issuer, subject))].sort());
  }
}

function membershipKey(pairs: Array<[group: number, rule: number]>): string {
  const unique = [...new Set(pairs.map(([group, rule]) => `${group}:${rule}`))];
  return unique
    .map((key) => key.split(':').map(Number) as [number, number])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1])
    .map(([group, rule]) => `${group}:${rule}`)
    .join(',');
}
