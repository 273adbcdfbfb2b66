import type { EntityManager } from '@mikro-orm/postgresql';
import { changedFields, logChange, type ChangeMessage } from '../audit/audit.service';
import { ActionFlag } from '../audit/log-entry.entity';
import { writing } from '../db/database-errors';
import { uuidId } from '../db/ids';
import { escapeLike } from '../db/sql';
import { conflict, GatehouseError } from '../errors';
import { modelRef } from '../permissions/registry';
import { endUserSessions } from '../sessions/sessions.service';
import { SsoIdentity } from '../sso/sso-identity.entity';
import { User } from '../users/user.entity';
import { lockActiveSuperusers, USER_RULES, validateEmail, validateUsername } from '../users/users.service';
import { invalidValue, mutability, resourceNotFound, uniqueness } from './scim-errors';
import { ScimGroupMember } from './scim-group.entity';
import { applyPatch } from './scim-patch';
import { listPage, listResponse, meta, project, projection, resourceBody, type ListQuery, type ScimContext } from './scim-resources';
import { parseListFilter, USER_SCHEMA } from './scim-schema';
import { ScimUser } from './scim-user.entity';

/*
 * SCIM Users: Gatehouse users that an identity provider provisions. A SCIM user is a Gatehouse
 * user (username = userName, first and last name, e-mail, isActive = active; staff with no
 * usable password, like every single sign-on user) linked to the identity (issuer, externalId)
 * at the provisioning token's issuer — the identity single sign-on finds the person by, so that
 * their later sign-in finds this very user. A token reaches only the users of its issuer:
 * another issuer's user is "not found". Deactivating or deleting a user ends their sessions in
 * the same transaction. Every write is logged (auth.user, with the provisioning token).
 */

const USER = modelRef('auth', 'user');
const MAX_NAME = 150;
const MAX_EXTERNAL_ID = 255;

/** What a SCIM User body sets. */
interface UserFields {
  userName: string;
  externalId: string | null;
  givenName: string;
  familyName: string;
  email: string;
  /** undefined: unchanged (a PUT without `active` never reactivates or deactivates anyone). */
  active: boolean | undefined;
}

function stringAttribute(body: Record<string, unknown>, name: string, value: unknown, max: number): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw invalidValue(`${name} must be a string`);
  const trimmed = value.trim();
  if (trimmed.length > max) throw invalidValue(`${name} must be at most ${max} characters`);
  return trimmed;
}

/** Runs a users-domain validator, its BAD_USER_INPUT becoming SCIM's invalidValue. */
function validated(validate: () => string): string {
  try {
    return validate();
  } catch (error) {
    if (error instanceof GatehouseError) throw invalidValue(error.message);
    throw error;
  }
}

/**
 * The Gatehouse fields of a User body (POST, PUT, or a PATCH's result). Attributes Gatehouse does
 * not keep (password, locale, roles, title, the enterprise extension…) or that are read-only
 * (id, meta, groups, displayName) are ignored, as RFC 7644 §3.3 lets a service provider do.
 */
function readUser(body: Record<string, unknown>): UserFields {
  const { userName, externalId, name, emails, active } = body;
  if (typeof userName !== 'string' || userName.trim() === '') throw invalidValue('userName is required: a string');
  if (name !== undefined && name !== null && (typeof name !== 'object' || Array.isArray(name)))
    throw invalidValue('name must be an object');
  const names = (name ?? {}) as Record<string, unknown>;
  if (emails !== undefined && emails !== null && !Array.isArray(emails)) throw invalidValue('emails must be an array');
  const addresses = (emails ?? []) as unknown[];
  if (addresses.some((e) => e === null || typeof e !== 'object')) throw invalidValue('emails must be an array of objects');
  const chosen = (addresses as Array<Record<string, unknown>>).find((e) => e.primary === true) ?? (addresses[0] as Record<string, unknown>);
  const email = chosen === undefined ? '' : stringAttribute(body, 'emails.value', chosen.value, 254);
  let isActive: boolean | undefined;
  // Entra ID sent "True"/"False" as strings before its 2020 SCIM compliance fixes (aadOptscim062020).
  if (typeof active === 'string' && /^(true|false)$/i.test(active)) isActive = active.toLowerCase() === 'true';
  else if (typeof active === 'boolean') isActive = active;
  else if (active !== undefined && active !== null) throw invalidValue('active must be true or false');
  return {
    userName: validated(() => validateUsername(userName.trim(), 'userName')),
    externalId:
      externalId === undefined || externalId === null ? null : stringAttribute(body, 'externalId', externalId, MAX_EXTERNAL_ID) || null,
    givenName: stringAttribute(body, 'name.givenName', names.givenName, MAX_NAME),
    familyName: stringAttribute(body, 'name.familyName', names.familyName, MAX_NAME),
    email: validated(() => validateEmail(email, 'emails.value')),
    active: isActive,
  };
}

/** The resource's writable attributes, as PATCH applies operations to them. */
function writableAttributes(scimUser: ScimUser): Record<string, unknown> {
  const { user } = scimUser;
  return {
    userName: user.username,
    externalId: scimUser.identity.subject,
    name: { givenName: user.firstName, familyName: user.lastName },
    emails: user.email ? [{ value: user.email, type: 'work', primary: true }] : [],
    active: user.isActive,
  };
}

const location = (ctx: ScimContext, scimUser: ScimUser) => `${ctx.baseUrl}/Users/${scimUser.id}`;

/** The User resource (RFC 7643 §4.1) of `scimUser`, with its groups. */
function render(ctx: ScimContext, scimUser: ScimUser, groups: Array<{ id: string; displayName: string }>): Record<string, unknown> {
  const { user } = scimUser;
  const formatted = [user.firstName, user.lastName].filter(Boolean).join(' ');
  return {
    schemas: [USER_SCHEMA],
    id: scimUser.id,
    externalId: scimUser.identity.subject,
    userName: user.username,
    name: { givenName: user.firstName, familyName: user.lastName, formatted },
    displayName: formatted || user.username,
    ...(user.email ? { emails: [{ value: user.email, type: 'work', primary: true }] } : {}),
    active: user.isActive,
    groups: groups.map((g) => ({ value: g.id, display: g.displayName, $ref: `${ctx.baseUrl}/Groups/${g.id}` })),
    meta: meta('User', location(ctx, scimUser), scimUser.createdAt, scimUser.updatedAt),
  };
}

async function groupsOf(em: EntityManager, ids: readonly string[]): Promise<Map<string, Array<{ id: string; displayName: string }>>> {
  const byUser = new Map<string, Array<{ id: string; displayName: string }>>();
  if (!ids.length) return byUser;
  const rows = await em.find(
    ScimGroupMember,
    { member: { $in: [...ids] } },
    { populate: ['group'], orderBy: { group: { displayName: 'asc' } } },
  );
  for (const row of rows) {
    const list = byUser.get(row.member.id) ?? [];
    list.push({ id: row.group.id, displayName: row.group.displayName });
    byUser.set(row.member.id, list);
  }
  return byUser;
}

/** The token's user `id`, locked for a write when `lock`; 404 for an unknown id or another issuer's user. */
async function findUser(ctx: ScimContext, em: EntityManager, id: string): Promise<ScimUser> {
  const scimId = uuidId(id);
  const scimUser =
    scimId === null
      ? null
      : await em.findOne(ScimUser, { id: scimId, identity: { issuer: ctx.token.issuer } }, { populate: ['user', 'identity'] });
  if (!scimUser) throw resourceNotFound('User', id);
  return scimUser;
}

/** GET /Users: the token's users, by `filter` (userName eq / externalId eq), a page at a time, oldest first. */
export async function listUsers(ctx: ScimContext, query: ListQuery): Promise<Record<string, unknown>> {
  const page = listPage(query);
  const view = projection('User', query);
  const filter = query.filter ? parseListFilter('User', query.filter) : null;
  const where: Record<string, unknown> = { identity: { issuer: ctx.token.issuer } };
  // userName is case-insensitive (RFC 7643 §4.1.1), externalId case-exact.
  if (filter?.attribute === 'userName') where.user = { username: { $ilike: escapeLike(filter.value) } };
  if (filter?.attribute === 'externalId') where.identity = { issuer: ctx.token.issuer, subject: filter.value };
  const [users, total] = await ctx.em.findAndCount(ScimUser, where, {
    populate: ['user', 'identity'],
    orderBy: { createdAt: 'asc', id: 'asc' },
    offset: page.startIndex - 1,
    limit: page.count,
  });
  const groups = view.includes('groups')
    ? await groupsOf(
        ctx.em,
        users.map((u) => u.id),
      )
    : new Map();
  return listResponse(
    total,
    page,
    users.map((u) => project(render(ctx, u, groups.get(u.id) ?? []), view)),
  );
}

/** GET /Users/{id}. */
export async function getUser(ctx: ScimContext, id: string, query: ListQuery = {}): Promise<Record<string, unknown>> {
  const scimUser = await findUser(ctx, ctx.em, id);
  return project(render(ctx, scimUser, (await groupsOf(ctx.em, [scimUser.id])).get(scimUser.id) ?? []), projection('User', query));
}

const taken = (userName: string) => conflict('userName', `userName ${userName} is already taken by another Gatehouse user`);

async function assertUserNameFree(tx: EntityManager, userName: string, except?: number): Promise<void> {
  // SCIM compares userName case-insensitively; Gatehouse usernames that differ only in case are one to SCIM.
  const others = await tx.count(User, { username: { $ilike: escapeLike(userName) }, ...(except ? { id: { $ne: except } } : {}) });
  if (others) throw taken(userName);
}

const scimMessage = (ctx: ScimContext): ChangeMessage[number] => ({ scim: { provisioningToken: ctx.token.id, issuer: ctx.token.issuer } });

/**
 * POST /Users. Creates the user and their identity (issuer, externalId); when a person already
 * signed in with that identity before being provisioned, their user is taken over by SCIM
 * instead (never a superuser's: 409). A userName taken by another user is 409 uniqueness, as is
 * an externalId already provisioned.
 */
export async function createUser(ctx: ScimContext, body: unknown): Promise<{ resource: Record<string, unknown>; location: string }> {
  const fields = readUser(resourceBody('User', body));
  if (fields.externalId === null)
    throw invalidValue(`externalId is required: the person's subject (sub) at ${ctx.token.issuer}, by which single sign-on finds them`);
  const externalId = fields.externalId;
  const scimUser = await writing(
    () =>
      ctx.em.transactional(async (tx) => {
        const identity = await tx.findOne(SsoIdentity, { issuer: ctx.token.issuer, subject: externalId }, { populate: ['user'] });
        if (identity && (await tx.count(ScimUser, { identity })))
          throw uniqueness(`externalId ${externalId} is already provisioned at ${ctx.token.issuer}`);
        let user: User;
        if (identity) {
          user = identity.user;
          if (user.isSuperuser) throw uniqueness(`externalId ${externalId} signs in as a superuser, whom provisioning never takes over`);
          await assertUserNameFree(tx, fields.userName, user.id);
        } else {
          await assertUserNameFree(tx, fields.userName);
          user = tx.create(User, { username: fields.userName, isStaff: true, isSuperuser: false, isActive: true, password: null });
        }
        const adopted = identity !== null;
        const deactivated = user.isActive && fields.active === false;
        const next = {
          username: fields.userName,
          firstName: fields.givenName,
          lastName: fields.familyName,
          email: fields.email,
          isActive: fields.active ?? user.isActive,
        };
        const changes = adopted ? (changedFields(user, next) ?? []) : [{ added: {} }];
        tx.assign(user, next);
        const linked = identity ?? tx.create(SsoIdentity, { user, issuer: ctx.token.issuer, subject: externalId });
        const created = tx.create(ScimUser, { user, identity: linked });
        await tx.flush();
        logChange(tx, {
          actor: null,
          model: USER,
          objectId: user.id,
          objectRepr: user.username,
          action: adopted ? ActionFlag.CHANGE : ActionFlag.ADDITION,
          message: [...changes, scimMessage(ctx)],
        });
        await tx.flush();
        if (deactivated) await endUserSessions(tx, user.id);
        return created;
      }),
    { auth_user_username_unique: () => taken(fields.userName), sso_identity_issuer_subject_unique: () => taken(externalId) },
  );
  return { resource: render(ctx, scimUser, []), location: location(ctx, scimUser) };
}

/**
 * Applies `fields` to the token's user `id` in one transaction: the changed fields and their log
 * entry, and — when the user goes from active to inactive — the end of all their sessions.
 * externalId cannot change (400 mutability): it is the identity single sign-on finds them by.
 */
async function writeUser(ctx: ScimContext, id: string, fieldsOf: (scimUser: ScimUser) => UserFields): Promise<Record<string, unknown>> {
  const scimUser = await writing(
    () =>
      ctx.em.transactional(async (tx) => {
        const found = await findUser(ctx, tx, id);
        const fields = fieldsOf(found);
        const { user } = found;
        if (fields.externalId !== null && fields.externalId !== found.identity.subject)
          throw mutability(`externalId cannot change: it names the person's identity at ${ctx.token.issuer}`);
        const deactivated = user.isActive && fields.active === false;
        if (deactivated) await refuseLastSuperuser(tx, user);
        if (fields.userName !== user.username) await assertUserNameFree(tx, fields.userName, user.id);
        const next = {
          username: fields.userName,
          firstName: fields.givenName,
          lastName: fields.familyName,
          email: fields.email,
          isActive: fields.active ?? user.isActive,
        };
        const message = changedFields(user, next);
        if (!message) return found;
        tx.assign(user, next);
        found.updatedAt = new Date();
        logChange(tx, {
          actor: null,
          model: USER,
          objectId: user.id,
          objectRepr: user.username,
          action: ActionFlag.CHANGE,
          message: [...message, scimMessage(ctx)],
        });
        await tx.flush();
        if (deactivated) await endUserSessions(tx, user.id);
        return found;
      }),
    { auth_user_username_unique: () => conflict('userName', 'userName is already taken by another Gatehouse user') },
  );
  return render(ctx, scimUser, (await groupsOf(ctx.em, [scimUser.id])).get(scimUser.id) ?? []);
}

/** The last active superuser is never deactivated or deleted, whoever asks (USER_RULES.lastSuperuser): 409. */
async function refuseLastSuperuser(tx: EntityManager, user: User): Promise<void> {
  if (!user.isSuperuser || !user.isActive) return;
  const superusers = await lockActiveSuperusers(tx);
  if (superusers.every((sid) => sid === user.id)) throw new GatehouseError('CONFLICT', USER_RULES.lastSuperuser, { rule: 'lastSuperuser' });
}

/** PUT /Users/{id}: the body replaces the user's attributes (an absent `active` leaves it as it is). */
export function replaceUser(ctx: ScimContext, id: string, body: unknown): Promise<Record<string, unknown>> {
  const fields = readUser(resourceBody('User', body));
  return writeUser(ctx, id, () => fields);
}

/** PATCH /Users/{id} (RFC 7644 §3.5.2, scim-patch.ts). */
export function patchUser(ctx: ScimContext, id: string, body: unknown): Promise<Record<string, unknown>> {
  return writeUser(ctx, id, (scimUser) => readUser(applyPatch('User', writableAttributes(scimUser), body)));
}

/**
 * DELETE /Users/{id}: the Gatehouse user is deleted, their sessions first, then (by the
 * database's cascades) their memberships, identities and SCIM groups' memberships; their
 * admin-log entries stay. The last active superuser is refused (409).
 */
export async function deleteUser(ctx: ScimContext, id: string): Promise<void> {
  await ctx.em.transactional(async (tx) => {
    const { user } = await findUser(ctx, tx, id);
    await refuseLastSuperuser(tx, user);
    logChange(tx, {
      actor: null,
      model: USER,
      objectId: user.id,
      objectRepr: user.username,
      action: ActionFlag.DELETION,
      message: [{ deleted: {} }, scimMessage(ctx)],
    });
    await tx.flush();
    await endUserSessions(tx, user.id);
    await tx.nativeDelete(User, { id: user.id });
  });
}
