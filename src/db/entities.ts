import { LogEntry } from '../audit/log-entry.entity';
import { Language } from '../core/language.entity';
import { Tweet } from '../core/tweet.entity';
import { Group } from '../groups/group.entity';
import { Permission } from '../permissions/permission.entity';
import { modelRef, type ModelRef } from '../permissions/registry';
import { LoginThrottle } from '../sessions/login-throttle.entity';
import { Session } from '../sessions/session.entity';
import { ProvisioningToken } from '../scim/provisioning-token.entity';
import { ScimGroup, ScimGroupMember } from '../scim/scim-group.entity';
import { ScimUser } from '../scim/scim-user.entity';
import { GroupMappingRule } from '../sso/group-mapping-rule.entity';
import { LoginTransaction } from '../sso/login-transaction.entity';
import { SeenLogoutToken } from '../sso/logout-token.entity';
import { RuleSetVersion } from '../sso/rule-set-version.entity';
import { SsoIdentity } from '../sso/sso-identity.entity';
import { UserGroup } from '../users/user-group.entity';
import { User } from '../users/user.entity';
import { UserTally } from '../users/user-tally.entity';

/** The entity behind each registered model; a test checks this covers the registry exactly. */
export const MODEL_ENTITIES: ReadonlyArray<{ ref: ModelRef; entity: abstract new (...args: never[]) => object }> = [
  { ref: modelRef('auth', 'user'), entity: User },
  { ref: modelRef('auth', 'group'), entity: Group },
  { ref: modelRef('auth', 'permission'), entity: Permission },
  { ref: modelRef('admin', 'logentry'), entity: LogEntry },
  { ref: modelRef('sso', 'groupmappingrule'), entity: GroupMappingRule },
  { ref: modelRef('sso', 'identity'), entity: SsoIdentity },
  { ref: modelRef('sso', 'provisioningtoken'), entity: ProvisioningToken },
  { ref: modelRef('core', 'tweet'), entity: Tweet },
  { ref: modelRef('core', 'language'), entity: Language },
];

/** Every entity MikroORM maps: the registered models plus their link tables. */
export const ENTITIES = [
  ...MODEL_ENTITIES.map((m) => m.entity),
  UserGroup,
  Session,
  LoginThrottle,
  LoginTransaction,
  SeenLogoutToken,
  ScimUser,
  ScimGroup,
  ScimGroupMember,
  UserTally,
  RuleSetVersion,
];
