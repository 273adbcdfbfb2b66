import type { FilterQuery } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { fromGlobalId, nodeKey } from '../db/ids';
import type { ModelRef } from '../permissions/registry';
import type { User } from '../users/user.entity';
import { ActionFlag, LogEntry, LogEvent } from './log-entry.entity';

/**
 * One entry of a change message, in Django admin's JSON shape:
 * `{"added": {}}`, `{"changed": {"fields": ["email"]}}`, `{"deleted": {}}`, or an event of
 * Gatehouse's own such as `{"sso_login": {...}}`.
 */
export type ChangeMessage = Array<Record<string, unknown>>;

export interface LogChange {
  actor: User | null;
  model: ModelRef;
  objectId: string | number | null;
  objectRepr: string;
  action: ActionFlag;
  message?: ChangeMessage;
}

const DEFAULT_MESSAGE: Record<ActionFlag, ChangeMessage> = {
  [ActionFlag.ADDITION]: [{ added: {} }],
  [ActionFlag.CHANGE]: [{ changed: {} }],
  [ActionFlag.DELETION]: [{ deleted: {} }],
};

/**
 * Records a change in the admin log, Django admin's `LogEntry`. Call it with the
 * EntityManager of the transaction that makes the change, so the entry and the change are
 * committed together or not at all. The entry is persisted, not flushed.
 */
export function logChange(em: EntityManager, change: LogChange): LogEntry {
  return em.create(LogEntry, {
    user: change.actor,
    appLabel: change.model.appLabel,
    model: change.model.model,
    objectId: change.objectId === null ? null : String(change.objectId),
    objectRepr: change.objectRepr.slice(0, 200),
    actionFlag: change.action,
    changeMessage: change.message ?? DEFAULT_MESSAGE[change.action],
  });
}

/** A sign-in or sign-out: an event of Gatehouse's own, with no registered model behind it. */
export interface SessionEvent {
  event: LogEvent;
  /** Who signed in or out; null for a refused sign-in (nobody signed in). */
  actor: User | null;
  /** `auth.login` (password), `sso.login` (single sign-on) or `auth.session` (sign-out). */
  appLabel: 'auth' | 'sso';
  model: 'login' | 'session';
  /** The account concerned, when known. */
  objectId: number | null;
  objectRepr: string;
  /** One key naming the event (`password_login`, `sign_out`, …) and its details; never a secret. */
  message: ChangeMessage;
  action?: ActionFlag;
}

/**
 * Records a sign-in or sign-out in the admin log, tagged with its `event` so that retention
 * (`purgeSignInEvents`) finds it. Like `logChange`: persisted with `em`'s transaction, not flushed.
 */
export function logSessionEvent(em: EntityManager, entry: SessionEvent): LogEntry {
  return em.create(LogEntry, {
    user: entry.actor,
    appLabel: entry.appLabel,
    model: entry.model,
    objectId: entry.objectId === null ? null : String(entry.objectId),
    objectRepr: entry.objectRepr.slice(0, 200),
    actionFlag: entry.action ?? ActionFlag.CHANGE,
    event: entry.event,
    changeMessage: entry.message,
  });
}

/** Statement size of `purgeSignInEvents`: rows deleted per DELETE. */
export const RETENTION_BATCH_SIZE = 1000;

/**
 * Deletes the sign-in and sign-out events (`LogEntry.event` set) older than `retentionDays`,
 * oldest first, `batchSize` rows per statement, until none is left; admin changes (no event) are
 * never touched, as Django keeps its admin history. Each statement is its own transaction, so a
 * backlog of millions never holds a long lock. Returns how many rows went.
 */
export async function purgeSignInEvents(
  em: EntityManager,
  retentionDays: number,
  options: { batchSize?: number; now?: Date; onBatch?: (deleted: number) => void } = {},
): Promise<number> {
  const batchSize = options.batchSize ?? RETENTION_BATCH_SIZE;
  const cutoff = new Date((options.now ?? new Date()).getTime() - retentionDays * 24 * 60 * 60 * 1000);
  let total = 0;
  for (;;) {
    const deleted: unknown[] = await em.execute(
      `delete from "admin_logentry" where "id" in (
         select "id" from "admin_logentry" where "event" is not null and "action_time" < ? order by "event", "action_time" limit ?
       ) returning "id"`,
      [cutoff, batchSize],
    );
    total += deleted.length;
    options.onBatch?.(deleted.length);
    if (deleted.length < batchSize) return total;
  }
}

/** `[{"changed": {"fields": [...]}}]` for the fields whose values differ, or null when none do. */
export function changedFields<T extends object>(before: T, after: Partial<T>): ChangeMessage | null {
  const fields = (Object.keys(after) as Array<keyof T>).filter((key) => after[key] !== undefined && !sameValue(before[key], after[key]));
  return fields.length ? [{ changed: { fields: fields.map(String) } }] : null;
}

/** `[{changed: {fields: [field], added: [...], removed: [...]}}]` for a set that changed, or null when nothing changed. */
export function setChange(field: string, added: string[], removed: string[]): ChangeMessage | null {
  if (!added.length && !removed.length) return null;
  return [{ changed: { fields: [field], added: added.sort(), removed: removed.sort() } }];
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  return a === b;
}

/** Which log entries to list; every criterion given must hold. */
export interface LogEntryFilter {
  userId?: string | null;
  /** The actor by username (exact). */
  username?: string | null;
  appLabel?: string | null;
  model?: string | null;
  objectId?: string | null;
  actionFlag?: ActionFlag | null;
  /** Sign-in or sign-out events of this kind only. */
  event?: LogEvent | null;
  /** Admin changes only (no event), or events only. */
  isEvent?: boolean | null;
  /** Entries made at or after this instant. */
  since?: Date | null;
}

/** The newest-first order of the admin log (Django's `-action_time`), the id breaking ties. */
export const LOG_ENTRY_ORDERING = [
  ['actionTime', 'desc'],
  ['id', 'desc'],
] as const satisfies ReadonlyArray<readonly [keyof LogEntry & string, 'asc' | 'desc']>;

/** The query for `filter`; a user id that is not a number is BAD_USER_INPUT naming `filter.userId`. */
export function logEntryWhere(filter: LogEntryFilter = {}): FilterQuery<LogEntry> {
  const where: FilterQuery<LogEntry> & Record<string, unknown> = {};
  // The actor, by id and/or username.
  const actor: { id?: number; username?: string } = {};
  if (filter.userId !== undefined && filter.userId !== null) {
    actor.id = nodeKey(filter.userId, 'User', 'filter.userId');
  }
  if (filter.username != null) actor.username = filter.username;
  if (actor.username !== undefined) where.user = actor;
  else if (actor.id !== undefined) where.user = actor.id;
  if (filter.appLabel != null) where.appLabel = filter.appLabel;
  if (filter.model != null) where.model = filter.model;
  // The changed object's global id, or its database key as the entry keeps it (Django's object_id).
  if (filter.objectId != null) where.objectId = String(fromGlobalId(filter.objectId)?.key ?? filter.objectId);
  if (filter.actionFlag != null) where.actionFlag = filter.actionFlag;
  const events: Array<FilterQuery<LogEntry>> = [];
  if (filter.event != null) events.push({ event: filter.event });
  if (filter.isEvent != null) events.push({ event: filter.isEvent ? { $ne: null } : null });
  if (events.length) where.$and = events;
  if (filter.since != null) where.actionTime = { $gte: filter.since };
  return where;
}
