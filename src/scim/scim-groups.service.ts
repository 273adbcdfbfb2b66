import type { EntityManager } from '@mikro-orm/postgresql';
import { writing } from '../db/database-errors';
import { uuidId } from '../db/ids';
import { escapeLike } from '../db/sql';
import { conflict } from '../errors';
import { syncDirectoryMemberships } from './directory';
import { invalidValue, resourceNotFound, uniqueness } from './scim-errors';
import { ScimGroup, ScimGroupMember } from './scim-group.entity';
import { applyPatch } from './scim-patch';
import { listPage, listResponse, meta, project, projection, resourceBody, type ListQuery, type ScimContext } from './scim-resources';
import { GROUP_SCHEMA, parseListFilter } from './scim-schema';
import { ScimUser } from './scim-user.entity';

/*
 * SCIM Groups: directory groups of the token's issuer, with their members (SCIM users of the
 * same issuer). Each change of a group's name or members re-evaluates the mapping rules for the
 * members it concerns, in the same transaction (directory.ts): Gatehouse groups follow at once.
 */

const MAX_NAME = 255;

interface GroupFields {
  displayName: string;
  externalId: string | null;
  /** SCIM ids of the members. */
  members: string[];
}

function readGroup(body: Record<string, unknown>): GroupFields {
  const { displayName, externalId, members } = body;
  if (typeof displayName !== 'string' || displayName.trim() === '') throw invalidValue('displayName is required: a string');
  if (displayName.trim().length > MAX_NAME) throw invalidValue(`displayName must be at most ${MAX_NAME} characters`);
  if (externalId !== undefined && externalId !== null && (typeof externalId !== 'string' || externalId.length > MAX_NAME))
    throw invalidValue(`externalId must be a string of at most ${MAX_NAME} characters`);
  if (members !== undefined && members !== null && !Array.isArray(members)) throw invalidValue('members must be an array');
  const ids = ((members ?? []) as unknown[]).map((member, i) => {
    const value = member !== null && typeof member === 'object' ? (member as Record<string, unknown>).value : undefined;
    if (typeof value !== 'string' || value === '') throw invalidValue(`members[${i}].value must be the id of a user`);
    return value;
  });
  return { displayName: displayName.trim(), externalId: (externalId as string | null | undefined) || null, members: [...new Set(ids)] };
}

const location = (ctx: ScimContext, group: ScimGroup) => `${ctx.baseUrl}/Groups/${group.id}`;

function render(ctx: ScimContext, group: ScimGroup, members: ScimUser[] | null): Record<string, unknown> {
  return {
    schemas: [GROUP_SCHEMA],
    id: group.id,
    ...(group.externalId ? { externalId: group.externalId } : {}),
    displayName: group.displayName,
    ...(members
      ? { members: members.map((m) => ({ value: m.id, display: m.user.username, type: 'User', $ref: `${ctx.baseUrl}/Users/${m.id}` })) }
      : {}),
    meta: meta('Group', location(ctx, group), group.createdAt, group.updatedAt),
  };
}

async function membersOf(em: EntityManager, groups: readonly ScimGroup[]): Promise<Map<string, ScimUser[]>> {
  const byGroup = new Map<string, ScimUser[]>(groups.map((g) => [g.id, []]));
  if (!groups.length) return byGroup;
  const rows = await em.find(
    ScimGroupMember,
    { group: { $in: groups.map((g) => g.id) } },
    { populate: ['member', 'member.user'], orderBy: { id: 'asc' } },
  );
  for (const row of rows) byGroup.get(row.group.id)!.push(row.member);
  return byGroup;
}

async function findGroup(ctx: ScimContext, em: EntityManager, id: string): Promise<ScimGroup> {
  const groupId = uuidId(id);
  const group = groupId === null ? null : await em.findOne(ScimGroup, { id: groupId, issuer: ctx.token.issuer });
  if (!group) throw resourceNotFound('Group', id);
  return group;
}

/** GET /Groups: the token's groups, by `filter` (displayName eq / externalId eq), a page at a time, oldest first. */
export async function listGroups(ctx: ScimContext, query: ListQuery): Promise<Record<string, unknown>> {
  const page = listPage(query);
  const view = projection('Group', query);
  const filter = query.filter ? parseListFilter('Group', query.filter) : null;
  const where: Record<string, unknown> = { issuer: ctx.token.issuer };
  // displayName is case-insensitive (RFC 7643 §4.2), externalId case-exact.
  if (filter?.attribute === 'displayName') where.displayName = { $ilike: escapeLike(filter.value) };
  if (filter?.attribute === 'externalId') where.externalId = filter.value;
  const [groups, total] = await ctx.em.findAndCount(ScimGroup, where, {
    orderBy: { createdAt: 'asc', id: 'asc' },
    offset: page.startIndex - 1,
    limit: page.count,
  });
  const members = view.includes('members') ? await membersOf(ctx.em, groups) : null;
  return listResponse(
    total,
    page,
    groups.map((g) => project(render(ctx, g, members?.get(g.id) ?? null), view)),
  );
}

/** GET /Groups/{id} (`excludedAttributes=members`, as Entra ID asks, spares reading the members). */
export async function getGroup(ctx: ScimContext, id: string, query: ListQuery = {}): Promise<Record<string, unknown>> {
  const group = await findGroup(ctx, ctx.em, id);
  const view = projection('Group', query);
  const members = view.includes('members') ? (await membersOf(ctx.em, [group])).get(group.id)! : null;
  return project(render(ctx, group, members), view);
}

/** The token's users named by `ids`; an id that names none is 400 invalidValue (nested groups are not supported). */
async function usersNamed(ctx: ScimContext, tx: EntityManager, ids: readonly string[]): Promise<ScimUser[]> {
  const valid = ids.filter((id) => uuidId(id) !== null);
  const users = valid.length
    ? await tx.find(ScimUser, { id: { $in: valid }, identity: { issuer: ctx.token.issuer } }, { populate: ['user'] })
    : [];
  const unknown = ids.filter((id) => !users.some((u) => u.id === id));
  if (unknown.length) throw invalidValue(`members: no user of this issuer has the id ${unknown.join(', ')} (members must be users)`);
  return users;
}

const nameTaken = (name: string) => uniqueness(`a group named ${name} already exists at this issuer`);

async function assertNameFree(ctx: ScimContext, tx: EntityManager, name: string, except?: string): Promise<void> {
  const where = { issuer: ctx.token.issuer, displayName: { $ilike: escapeLike(name) }, ...(except ? { id: { $ne: except } } : {}) };
  if (await tx.count(ScimGroup, where)) throw nameTaken(name);
}

/** Sets the group's members to exactly `wanted` and returns the SCIM ids whose membership changed. */
async function setMembers(tx: EntityManager, group: ScimGroup, wanted: readonly ScimUser[], isNew: boolean): Promise<string[]> {
  const current = isNew ? [] : await tx.find(ScimGroupMember, { group });
  const wantedIds = new Set(wanted.map((u) => u.id));
  const removed = current.filter((m) => !wantedIds.has(m.member.id));
  const currentIds = new Set(current.map((m) => m.member.id));
  const added = wanted.filter((u) => !currentIds.has(u.id));
  for (const membership of removed) tx.remove(membership);
  for (const member of added) tx.create(ScimGroupMember, { group, member });
  return [...removed.map((m) => m.member.id), ...added.map((u) => u.id)];
}

const constraints = {
  scim_group_issuer_display_name_unique: () => conflict('displayName', 'a group of that displayName already exists at this issuer'),
};

/** POST /Groups: a directory group, with its members (Entra ID creates groups empty, then adds members). */
export async function createGroup(ctx: ScimContext, body: unknown): Promise<{ resource: Record<string, unknown>; location: string }> {
  const fields = readGroup(resourceBody('Group', body));
  const { group, members } = await writing(
    () =>
      ctx.em.transactional(async (tx) => {
        await assertNameFree(ctx, tx, fields.displayName);
        const users = await usersNamed(ctx, tx, fields.members);
        const created = tx.create(ScimGroup, { issuer: ctx.token.issuer, displayName: fields.displayName, externalId: fields.externalId });
        await setMembers(tx, created, users, true);
        await syncDirectoryMemberships(
          tx,
          ctx.token.issuer,
          users.map((u) => u.id),
          { groupsClaim: ctx.groupsClaim, tokenId: ctx.token.id },
        );
        return { group: created, members: users };
      }),
    constraints,
  );
  return { resource: render(ctx, group, members), location: location(ctx, group) };
}

/**
 * Writes `fields` to the token's group `id`: a new name re-evaluates the rules for every member
 * (the name is the claim value), a new member list for those who joined or left.
 */
async function writeGroup(
  ctx: ScimContext,
  id: string,
  fieldsOf: (group: ScimGroup, members: ScimUser[]) => GroupFields,
): Promise<ScimGroup> {
  return writing(
    () =>
      ctx.em.transactional(async (tx) => {
        const group = await findGroup(ctx, tx, id);
        const current = (await membersOf(tx, [group])).get(group.id)!;
        const fields = fieldsOf(group, current);
        const renamed = fields.displayName !== group.displayName;
        if (renamed) await assertNameFree(ctx, tx, fields.displayName, group.id);
        const users = await usersNamed(ctx, tx, fields.members);
        const changedMembers = await setMembers(tx, group, users, false);
        if (!renamed && fields.externalId === group.externalId && !changedMembers.length) return group;
        tx.assign(group, { displayName: fields.displayName, externalId: fields.externalId, updatedAt: new Date() });
        const affected = renamed ? [...new Set([...current.map((u) => u.id), ...users.map((u) => u.id)])] : changedMembers;
        await syncDirectoryMemberships(tx, ctx.token.issuer, affected, { groupsClaim: ctx.groupsClaim, tokenId: ctx.token.id });
        return group;
      }),
    constraints,
  );
}

/** PUT /Groups/{id}: the body replaces the name, externalId and members. */
export async function replaceGroup(ctx: ScimContext, id: string, body: unknown): Promise<Record<string, unknown>> {
  const fields = readGroup(resourceBody('Group', body));
  const group = await writeGroup(ctx, id, () => fields);
  return getGroup(ctx, group.id);
}

/** PATCH /Groups/{id} (RFC 7644 §3.5.2; members by `members[value eq "…"]` or by value arrays). Answers 204. */
export async function patchGroup(ctx: ScimContext, id: string, body: unknown): Promise<void> {
  await writeGroup(ctx, id, (group, members) =>
    readGroup(
      applyPatch(
        'Group',
        {
          displayName: group.displayName,
          ...(group.externalId ? { externalId: group.externalId } : {}),
          members: members.map((m) => ({ value: m.id })),
        },
        body,
      ),
    ),
  );
}

/** DELETE /Groups/{id}: its members lose what the rules granted for it, at once. */
export async function deleteGroup(ctx: ScimContext, id: string): Promise<void> {
  await ctx.em.transactional(async (tx) => {
    const group = await findGroup(ctx, tx, id);
    const members = (await membersOf(tx, [group])).get(group.id)!;
    await tx.nativeDelete(ScimGroupMember, { group });
    await tx.nativeDelete(ScimGroup, { id: group.id });
    await syncDirectoryMemberships(
      tx,
      ctx.token.issuer,
      members.map((m) => m.id),
      { groupsClaim: ctx.groupsClaim, tokenId: ctx.token.id },
    );
  });
}
