import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { changedFields, logChange, setChange } from '../audit/audit.service';
import { ActionFlag } from '../audit/log-entry.entity';
import { badInput, conflict, GatehouseError, notFound, refuseNulls, unknownValues } from '../errors';
import { writing, type ConstraintErrors } from '../db/database-errors';
import { Group } from '../groups/group.entity';
import { assertMayGrant } from '../permissions/grant-rule';
import { permissionsNamed, replaceGrants } from '../permissions/grants';
import { modelRef } from '../permissions/registry';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { checkPasswordThrottled } from '../sessions/password-login';
import { endUserSessions } from '../sessions/sessions.service';
import { hashPassword, isCommonPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from './passwords';
import { MembershipSource, UserGroup } from './user-group.entity';
import { User } from './user.entity';

// Django's UnicodeUsernameValidator: letters, digits and @ . + - _
const USERNAME = /^[\p{L}\p{N}@.+\-_]{1,150}$/u;
// The HTML living standard's e-mail grammar, as browsers validate <input type=email>.
const EMAIL =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** Checks a username against Django's rules; throws BAD_USER_INPUT naming `field`. */
export function validateUsername(username: string, field = 'username'): string {
  if (!USERNAME.test(username)) throw badInput(field, 'must be 1-150 characters: letters, digits and @ . + - _ only');
  return username;
}

/** Checks an optional e-mail address (empty means none); throws BAD_USER_INPUT naming `field`. */
export function validateEmail(email: string, field = 'email'): string {
  const value = email.trim();
  if (value !== '' && (value.length > 254 || !EMAIL.test(value)))
    throw badInput(field, 'must be an e-mail address such as ada@example.com');
  return value;
}

/**
 * Checks a new password: 12 to 1,024 characters, and not one of the common passwords attackers
 * try first (passwords.ts); throws BAD_USER_INPUT naming `field`.
 */
export function validatePassword(password: string, field = 'password'): string {
  if (password.length < MIN_PASSWORD_LENGTH) throw badInput(field, `must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > MAX_PASSWORD_LENGTH) throw badInput(field, `must be at most ${MAX_PASSWORD_LENGTH} characters`);
  if (isCommonPassword(password)) throw badInput(field, 'is too common: it is on a list of passwords that attackers try first');
  return password;
}

export interface NewSuperuser {
  username: string;
  email: string;
  password: string;
}

/**
 * Creates an active superuser (staff, with a usable password), as Django's
 * `createsuperuser`. A taken username is a CONFLICT; nothing is written on any error.
 */
export async function createSuperuser(em: EntityManager, input: NewSuperuser): Promise<User> {
  const username = validateUsername(input.username);
  const email = validateEmail(input.email);
  const password = await hashPassword(validatePassword(input.password));
  const taken = () => conflict('username', `the username "${username}" is already taken`);
  // Two creations of the same name can both pass the count; the unique index decides.
  return writing(
    () =>
      em.transactional(async (tx) => {
        if (await tx.count(User, { username })) throw taken();
        const user = tx.create(User, { username, email, password, isStaff: true, isSuperuser: true });
        await tx.flush();
        // No actor: the command line has no account. Committed with the user or not at all.
        logChange(tx, {
          actor: null,
          model: USER,
          objectId: user.id,
          objectRepr: user.username,
          action: ActionFlag.ADDITION,
          message: [{ added: {} }, { command: 'createsuperuser' }],
        });
        await tx.flush();
        return user;
      }),
    { auth_user_username_unique: taken },
  );
}

/*
 * The administration of users: every write runs in one transaction with its LogEntry (who,
 * what, which fields; for set* what was added and removed), so both commit or neither does.
 * The caller has already checked the operation's permission (auth.add_user, auth.change_user,
 * auth.delete_user); these functions add the rules a permission alone cannot express.
 */

const USER = modelRef('auth', 'user');

/** The rules, named in FORBIDDEN and CONFLICT errors as `extensions.rule`. */
export const USER_RULES = {
  superuserFlags: 'only a superuser may set isSuperuser or isStaff',
  superuserAccounts: 'only a superuser may change or delete a superuser',
  lastSuperuser: 'the last active superuser cannot be deactivated, demoted or deleted',
  selfDeletion: 'you cannot delete your own account',
} as const;

const forbidden = (rule: keyof typeof USER_RULES, field?: string) =>
  new GatehouseError('FORBIDDEN', USER_RULES[rule], { rule, ...(field ? { field } : {}) });

/** The fields an admin may set on a user, validated. */
export interface UserFields {
  username?: string;
  email?: string;
  firstName?: string;
  lastName?: string;
  isActive?: boolean;
  isStaff?: boolean;
  isSuperuser?: boolean;
}

export type UserInput = { [K in keyof UserFields]?: UserFields[K] | null };

function validateName(value: string, field: string): string {
  const name = value.trim();
  if (name.length > 150) throw badInput(field, 'must be at most 150 characters');
  return name;
}

/**
 * Validates the given fields (absent or null ones are left out): BAD_USER_INPUT naming
 * `input.<field>`, before anything is looked up or written.
 */
export function validateUserFields(input: UserInput): UserFields {
  const fields: UserFields = {};
  if (input.username !== undefined && input.username !== null) fields.username = validateUsername(input.username, 'input.username');
  if (input.email !== undefined && input.email !== null) fields.email = validateEmail(input.email, 'input.email');
  if (input.firstName !== undefined && input.firstName !== null) fields.firstName = validateName(input.firstName, 'input.firstName');
  if (input.lastName !== undefined && input.lastName !== null) fields.lastName = validateName(input.lastName, 'input.lastName');
  for (const flag of ['isActive', 'isStaff', 'isSuperuser'] as const) {
    const value = input[flag];
    if (value !== undefined && value !== null) fields[flag] = value;
  }
  return fields;
}

const usernameTaken = (username: string | undefined) => conflict('input.username', `the username "${username}" is already taken`);
const USER_CONSTRAINTS: ConstraintErrors<User> = { auth_user_username_unique: (attempt) => usernameTaken(attempt.username) };

/** Runs `work`, translating a violated constraint (a username taken concurrently) into CONFLICT. */
const write = <T>(attempt: Partial<User>, work: () => Promise<T>): Promise<T> => writing(work, USER_CONSTRAINTS, attempt);

/**
 * Locks the active superusers (in id order, so two transactions always take them in the same
 * order and never deadlock) and returns their ids. Two admins demoting the last two
 * superusers at once are thus serialised: the second sees the first's change and is refused.
 */
export async function lockActiveSuperusers(tx: EntityManager): Promise<number[]> {
  const rows = await tx.execute<Array<{ id: number }>>('select id from auth_user where is_superuser and is_active order by id for update');
  return rows.map((row) => row.id);
}

async function lockUser(tx: EntityManager, id: number, options: { populate?: readonly ['userPermissions'] } = {}): Promise<User> {
  const user = await tx.findOne(User, id, { lockMode: LockMode.PESSIMISTIC_WRITE, populate: options.populate ?? [] });
  if (!user) throw notFound('user', id);
  return user;
}

/** Only a superuser may change or delete a superuser: else anyone with auth.change_user could take one over. */
function assertMayManage(actor: User, target: User): void {
  if (target.isSuperuser && !actor.isSuperuser) throw forbidden('superuserAccounts');
}

/**
 * Creates a user. Only a superuser may create a superuser or a staff user (FORBIDDEN naming
 * the rule); a taken username is CONFLICT naming `input.username`. Without a password the
 * user has no usable one (single sign-on only).
 */
export async function createUser(em: EntityManager, actor: User, input: UserInput & { password?: string | null }): Promise<User> {
  const fields = validateUserFields(input);
  if (fields.username === undefined) throw badInput('input.username', 'is required');
  if (!actor.isSuperuser && (fields.isSuperuser || fields.isStaff))
    throw forbidden('superuserFlags', fields.isSuperuser ? 'input.isSuperuser' : 'input.isStaff');
  const password =
    input.password === undefined || input.password === null ? null : await hashPassword(validatePassword(input.password, 'input.password'));
  return write(fields, () =>
    em.transactional(async (tx) => {
      if (await tx.count(User, { username: fields.username })) throw usernameTaken(fields.username);
      const user = tx.create(User, { ...fields, username: fields.username!, password });
      await tx.flush();
      logChange(tx, { actor, model: USER, objectId: user.id, objectRepr: user.username, action: ActionFlag.ADDITION });
      await tx.flush();
      return user;
    }),
  );
}

/**
 * Changes the given fields of a user; absent fields are kept, and a change that changes
 * nothing writes nothing. Deactivating the user ends all their sessions in the same
 * transaction. Refused: isSuperuser/isStaff changed by a non-superuser, a superuser changed by
 * a non-superuser (FORBIDDEN), the last active superuser deactivated or demoted (CONFLICT).
 */
export async function updateUser(em: EntityManager, actor: User, id: number, input: UserInput): Promise<User> {
  // Every field of a user has a value ('' for no e-mail or name): null clears none of them.
  refuseNulls(input, ['username', 'email', 'firstName', 'lastName', 'isActive', 'isStaff', 'isSuperuser']);
  const fields = validateUserFields(input);
  return write(fields, () =>
    em.transactional(async (tx) => {
      const superusers = fields.isActive === false || fields.isSuperuser === false ? await lockActiveSuperusers(tx) : null;
      const user = await lockUser(tx, id);
      assertMayManage(actor, user);
      if (!actor.isSuperuser) {
        for (const flag of ['isSuperuser', 'isStaff'] as const) {
          if (fields[flag] !== undefined && fields[flag] !== user[flag]) throw forbidden('superuserFlags', `input.${flag}`);
        }
      }
      if (superusers && user.isActive && user.isSuperuser && superusers.every((sid) => sid === user.id)) {
        throw new GatehouseError('CONFLICT', USER_RULES.lastSuperuser, {
          rule: 'lastSuperuser',
          field: fields.isActive === false ? 'input.isActive' : 'input.isSuperuser',
        });
      }
      if (
        fields.username !== undefined &&
        fields.username !== user.username &&
        (await tx.count(User, { username: fields.username, id: { $ne: id } }))
      ) {
        throw usernameTaken(fields.username);
      }
      const message = changedFields(user, fields);
      if (!message) return user;
      const deactivated = user.isActive && fields.isActive === false;
      tx.assign(user, fields);
      logChange(tx, { actor, model: USER, objectId: user.id, objectRepr: user.username, action: ActionFlag.CHANGE, message });
      await tx.flush();
      if (deactivated) await endUserSessions(tx, user.id);
      return user;
    }),
  );
}

/**
 * Deletes a user and returns its id; their memberships, grants and sessions go with them (the
 * database cascades), their admin-log entries stay with no user. Refused: deleting yourself
 * (BAD_USER_INPUT), a superuser by a non-superuser (FORBIDDEN), the last active superuser (CONFLICT).
 */
export async function deleteUser(em: EntityManager, actor: User, id: number): Promise<number> {
  if (id === actor.id) throw new GatehouseError('BAD_USER_INPUT', USER_RULES.selfDeletion, { field: 'id', rule: 'selfDeletion' });
  return em.transactional(async (tx) => {
    const superusers = await lockActiveSuperusers(tx);
    const user = await lockUser(tx, id);
    assertMayManage(actor, user);
    if (user.isActive && user.isSuperuser && superusers.every((sid) => sid === user.id)) {
      throw new GatehouseError('CONFLICT', USER_RULES.lastSuperuser, { rule: 'lastSuperuser', field: 'id' });
    }
    logChange(tx, { actor, model: USER, objectId: user.id, objectRepr: user.username, action: ActionFlag.DELETION });
    await tx.flush();
    await tx.nativeDelete(User, { id });
    return id;
  });
}

/**
 * An admin signs a user out everywhere: ends every session of user `id` (the caller's own
 * current one included, when it is the caller) and records it as a change of the user, kept with
 * the admin history, in one transaction. Managing a superuser needs a superuser. Returns how
 * many sessions ended.
 */
export async function revokeUserSessions(em: EntityManager, actor: User, id: number): Promise<number> {
  return em.transactional(async (tx) => {
    const user = await lockUser(tx, id);
    assertMayManage(actor, user);
    const ended = await endUserSessions(tx, user.id);
    logChange(tx, {
      actor,
      model: USER,
      objectId: user.id,
      objectRepr: user.username,
      action: ActionFlag.CHANGE,
      message: [{ sessions_revoked: { sessionsEnded: ended } }],
    });
    await tx.flush();
    return ended;
  });
}

/** What changing one's own password needs besides the new one. */
export interface OwnPasswordCheck {
  /** The caller's current password; required when the caller changes its own. */
  currentPassword?: string | null;
  /** Counts the checks of the current password, with the sign-ins of the same account. */
  throttle: RateLimiterAbstract;
}

/**
 * Sets a user's password (argon2id) and ends their sessions in the same transaction — all of
 * them, except the caller's own current session when the caller changes their own password
 * (as Django's `update_session_auth_hash`), so changing it does not sign you out here.
 *
 * Changing one's own password needs the current one (`check.currentPassword`, checked under the
 * sign-in throttle, so a stolen session cannot guess it faster than a sign-in could, nor turn a
 * session into a password it never knew); an admin resetting another user's does not.
 * Missing, wrong or throttled: BAD_USER_INPUT naming `currentPassword`, nothing written.
 */
export async function setUserPassword(
  em: EntityManager,
  actor: User,
  id: number,
  password: string,
  currentSessionId: string | null | undefined,
  check: OwnPasswordCheck,
): Promise<User> {
  const hashed = await hashPassword(validatePassword(password, 'password'));
  if (id === actor.id) await assertCurrentPassword(em, actor, check);
  return em.transactional(async (tx) => {
    const user = await lockUser(tx, id);
    assertMayManage(actor, user);
    user.password = hashed;
    logChange(tx, {
      actor,
      model: USER,
      objectId: user.id,
      objectRepr: user.username,
      action: ActionFlag.CHANGE,
      message: [{ changed: { fields: ['password'] } }],
    });
    await tx.flush();
    await endUserSessions(tx, user.id, actor.id === user.id ? (currentSessionId ?? undefined) : undefined);
    return user;
  });
}

async function assertCurrentPassword(em: EntityManager, actor: User, check: OwnPasswordCheck): Promise<void> {
  if (check.currentPassword === undefined || check.currentPassword === null || check.currentPassword === '')
    throw badInput('currentPassword', 'is required to change your own password');
  const stored = (await em.fork().findOne(User, actor.id, { populate: ['password'] }))?.password ?? null;
  const checked = await checkPasswordThrottled(check.throttle, actor.username, stored, check.currentPassword);
  if (checked instanceof RateLimiterRes) {
    const retryAfterSeconds = Math.max(1, Math.ceil(checked.msBeforeNext / 1000));
    throw new GatehouseError(
      'BAD_USER_INPUT',
      `currentPassword: too many wrong passwords for this account; try again in ${retryAfterSeconds} s`,
      {
        field: 'currentPassword',
        retryAfterSeconds,
      },
    );
  }
  if (checked !== 'ok') throw badInput('currentPassword', 'is not your current password');
}

/**
 * Sets the groups an admin put the user in to exactly `groupIds`. Memberships granted by
 * single sign-on rules are untouched (the next sign-in manages them). Unknown ids are
 * BAD_USER_INPUT naming `groupIds`; a group added whose permissions the actor does not all hold,
 * or the actor's own account, is FORBIDDEN (the granting rule, grant-rule.ts); nothing is
 * written then.
 */
export async function setUserGroups(em: EntityManager, actor: User, id: number, groupIds: readonly number[]): Promise<User> {
  const wanted = [...new Set(groupIds)];
  return em.transactional(async (tx) => {
    const user = await lockUser(tx, id);
    assertMayManage(actor, user);
    const groups = wanted.length ? await tx.find(Group, { id: { $in: wanted } }, { populate: ['permissions'] }) : [];
    const unknown = wanted.filter((gid) => !groups.some((g) => g.id === gid));
    if (unknown.length) throw unknownValues('groupIds', 'group with id', unknown);
    const current = await tx.find(UserGroup, { user: id, source: MembershipSource.ADMIN }, { populate: ['group'] });
    const removed = current.filter((m) => !wanted.includes(m.group.id));
    const added = groups.filter((g) => !current.some((m) => m.group.id === g.id));
    await assertMayGrant(tx, actor, {
      permissions: added.flatMap((g) => g.permissions.getItems().map((p) => p.fullName)),
      field: 'groupIds',
      recipientId: user.id,
    });
    const message = setChange(
      'groups',
      added.map((g) => g.name),
      removed.map((m) => m.group.name),
    );
    if (!message) return user;
    for (const membership of removed) tx.remove(membership);
    for (const group of added) tx.create(UserGroup, { user, group, source: MembershipSource.ADMIN });
    logChange(tx, { actor, model: USER, objectId: user.id, objectRepr: user.username, action: ActionFlag.CHANGE, message });
    await tx.flush();
    return user;
  });
}

/**
 * Sets the user's direct permissions to exactly `names` (`app_label.codename`). Unknown names
 * are BAD_USER_INPUT naming `permissions` and each unknown name; a permission added that the
 * actor does not hold, or the actor's own account, is FORBIDDEN (the granting rule,
 * grant-rule.ts); nothing is written then.
 */
export async function setUserPermissions(em: EntityManager, actor: User, id: number, names: readonly string[]): Promise<User> {
  return em.transactional(async (tx) => {
    const wanted = await permissionsNamed(tx, names);
    const user = await lockUser(tx, id, { populate: ['userPermissions'] });
    assertMayManage(actor, user);
    const current = user.userPermissions.getItems();
    await assertMayGrant(tx, actor, {
      permissions: wanted.filter((p) => !current.includes(p)).map((p) => p.fullName),
      field: 'permissions',
      recipientId: user.id,
    });
    const message = replaceGrants(user.userPermissions, wanted, 'userPermissions');
    if (!message) return user;
    logChange(tx, { actor, model: USER, objectId: user.id, objectRepr: user.username, action: ActionFlag.CHANGE, message });
    await tx.flush();
    return user;
  });
}
