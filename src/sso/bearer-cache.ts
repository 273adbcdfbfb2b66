import type { EntityManager } from '@mikro-orm/postgresql';
import { createHash } from 'node:crypto';
import { executePrepared, preparedStatement, type PreparedStatement } from '../db/prepared';
import { grantedPermissionsSql } from '../permissions/has-perm';
import { MembershipSource } from '../users/user-group.entity';
import type { User } from '../users/user.entity';
import { USER_COLUMNS, userFromRow, type UserRow } from '../users/users.queries';
import type { DirectoryGroupsSource } from './directory';
import { RULES_VERSION_SQL } from './rule-set-version.entity';
import type { SsoLoginOutcome } from './sso-login';

/*
 * What a provider access token's sign-in came to, kept so that the API requests carrying the same
 * token do not run the whole sign-in again (which re-maps the claims, re-reads the identity,
 * memberships and profile, and writes nothing when nothing changed). A remembered outcome is used
 * only while everything the sign-in read is as it left it — one prepared statement checks the
 * identity, the account (active, profile), its rule-granted memberships, the rule-set version and
 * the person's SCIM groups, and reads the user's permissions with them, as the session lookup
 * does for a session cookie — so it answers exactly as the sign-in would have, and
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
  /** The person's SCIM groups as read before the sign-in (`DirectoryGroupsSource.sql`); null when nothing provides them. */
  directoryGroups: string | null;
  firstName: string;
  lastName: string;
  email: string;
}

/** A token's user, recalled with what the request needs to know about them. */
export interface RecalledBearer {
  /** A read-only snapshot of the user's row. */
  readonly user: User;
  /**
   * The user's granted permissions, direct ∪ groups, for `PermissionBackend.prime`; null for a
   * superuser, whose permissions are the registry's (as `ResolvedSession.permissions`).
   */
  readonly permissions: readonly string[] | null;
}

export class BearerOutcomeCache {
  private readonly entries = new Map<string, Entry>();
  /** Run on every request carrying a remembered token: prepared (see db/prepared.ts). */
  private readonly recallStatement: PreparedStatement;
  private readonly directorySql: string;

  constructor(directoryGroups: DirectoryGroupsSource | undefined) {
    this.directorySql = directoryGroups?.sql ?? 'null::text';
    this.recallStatement = preparedStatement(
      directoryGroups ? 'gatehouse_bearer_recall' : 'gatehouse_bearer_recall_no_directory',
      `select ${USER_COLUMNS}, ${RULES_VERSION_SQL} as rules_version,
              coalesce((select string_agg(ug.group_id || ':' || ug.rule_id, ',' order by ug.group_id, ug.rule_id)
                          from auth_user_groups ug where ug.user_id = u.id and ug.source = ?), '') as rule_memberships,
              ${this.directorySql} as directory_groups,
              case when u.is_superuser then null else array(${grantedPermissionsSql('u.id')}) end as permissions
         from sso_identity i join auth_user u on u.id = i.user_id
        where i.issuer = ? and i.subject = ?`,
    );
  }

  /** The key of `jwt`: its SHA-256, so that no token is kept in memory. */
  static keyOf(jwt: string): string {
    return createHash('sha256').update(jwt).digest('base64url');
  }

  /** What to record before a sign-in, to know afterwards whether its outcome can be reused: one statement. */
  async before(em: EntityManager, issuer: string, subject: string): Promise<{ rulesVersion: string; directoryGroups: string | null }> {
    const [row] = await em.execute<Array<{ rules_version: string; directory_groups: string | null }>>(
      `select ${RULES_VERSION_SQL} as rules_version,
              (select ${this.directorySql} from sso_identity i where i.issuer = ? and i.subject = ?) as directory_groups`,
      [issuer, subject],
    );
    return { rulesVersion: String(row?.rules_version ?? '0'), directoryGroups: row?.directory_groups ?? null };
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
   * The user of `key`'s token when its remembered outcome still holds (see above), with their
   * permissions; null when there is none or it no longer holds (then forgotten).
   */
  async recall(em: EntityManager, key: string): Promise<RecalledBearer | null> {
    const entry = this.entries.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return null;
    }
    type Row = UserRow & { rules_version: string; rule_memberships: string; directory_groups: string | null; permissions: string[] | null };
    const [row] = await executePrepared<Row>(em, this.recallStatement, [MembershipSource.SSO_RULE, entry.issuer, entry.subject]);
    const holds =
      row &&
      row.id === entry.userId &&
      row.is_active &&
      String(row.rules_version) === entry.rulesVersion &&
      row.rule_memberships === entry.ruleMemberships &&
      row.first_name === entry.firstName &&
      row.last_name === entry.lastName &&
      row.email === entry.email &&
      // A person never provisioned reads as `[]` after the sign-in created their identity, null before.
      (row.directory_groups ?? '[]') === (entry.directoryGroups ?? '[]');
    if (!holds) {
      this.entries.delete(key);
      return null;
    }
    // Most recently used last: the first entry is the one to drop.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return { user: userFromRow(row), permissions: row.permissions };
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
