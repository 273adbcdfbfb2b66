import type { FilterQuery } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { fromGlobalId, nodeKey } from '../db/ids';
import type { ModelRef } from '../permissions/registry';
import type { User } from '../users/user.entity';
import { ActionFlag, LogEntry } from './log-entry.entity';

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
  appLabel?: string | null;
  model?: string | null;
  objectId?: string | null;
  actionFlag?: ActionFlag | null;
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
  if (filter.userId !== undefined && filter.userId !== null) {
    where.user = nodeKey(filter.userId, 'User', 'filter.userId');
  }
  if (filter.appLabel != null) where.appLabel = filter.appLabel;
  if (filter.model != null) where.model = filter.model;
  // The changed object's global id, or its database key as the entry keeps it (Django's object_id).
  if (filter.objectId != null) where.objectId = String(fromGlobalId(filter.objectId)?.key ?? filter.objectId);
  if (filter.actionFlag != null) where.actionFlag = filter.actionFlag;
  if (filter.since != null) where.actionTime = { $gte: filter.since };
  return where;
}
