import type { EntityManager } from '@mikro-orm/postgresql';
import { LogEntry } from '../../../src/audit/log-entry.entity';
import { Session } from '../../../src/sessions/session.entity';
import { SsoIdentity } from '../../../src/sso/sso-identity.entity';
import { UserGroup } from '../../../src/users/user-group.entity';
import { User } from '../../../src/users/user.entity';

/** How many rows a sign-in can write, per table: compared before and after to prove nothing was persisted. */
export async function ssoRowCounts(em: EntityManager) {
  return {
    users: await em.count(User, {}),
    identities: await em.count(SsoIdentity, {}),
    sessions: await em.count(Session, {}),
    memberships: await em.count(UserGroup, {}),
    logEntries: await em.count(LogEntry, {}),
  };
}
