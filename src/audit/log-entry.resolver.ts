import { Arg, Ctx, Field, FieldResolver, ID, InputType, Int, Query, Resolver, Root } from 'type-graphql';
import { HasPermission } from '../graphql/access';
import { AFTER_DESCRIPTION, FIRST_DESCRIPTION } from '../graphql/conventions';
import { findPage, type Page } from '../db/keyset';
import { Connection } from '../graphql/connection';
import type { GatehouseContext } from '../graphql/context';
import { GlobalIdOf } from '../graphql/global-ids';
import { permissionFor, modelRef } from '../permissions/registry';
import { LOG_ENTRY_ORDERING, logEntryWhere, type LogEntryFilter } from './audit.service';
import { User } from '../users/user.entity';
import { ActionFlag, LogEntry, LogEvent } from './log-entry.entity';

const LOG_ENTRY = modelRef('admin', 'logentry');
const LogEntryConnection = Connection(LogEntry);

@InputType({ description: 'Every criterion given must hold.' })
export class LogEntryFilterInput implements LogEntryFilter {
  @Field(() => ID, { nullable: true, description: 'Entries made by this user.' })
  userId?: string | null;

  @Field(() => String, { nullable: true, description: 'Entries made by the user with this username (the actor).' })
  username?: string | null;

  @Field(() => String, { nullable: true, description: 'e.g. core' })
  appLabel?: string | null;

  @Field(() => String, { nullable: true, description: 'e.g. tweet' })
  model?: string | null;

  @Field(() => String, { nullable: true, description: 'The changed object’s global id, or its database key (with appLabel and model).' })
  objectId?: string | null;

  @Field(() => ActionFlag, { nullable: true, description: 'Entries of this kind of change.' })
  actionFlag?: ActionFlag | null;

  @Field(() => LogEvent, { nullable: true, description: 'Sign-in or sign-out events of this kind only.' })
  event?: LogEvent | null;

  @Field(() => Boolean, { nullable: true, description: 'true: sign-in and sign-out events only; false: admin changes only.' })
  isEvent?: boolean | null;

  @Field(() => Date, { nullable: true, description: 'Entries made at or after this instant.' })
  since?: Date | null;
}

@Resolver(() => LogEntry)
export class LogEntryResolver {
  @Query(() => LogEntryConnection, { description: 'The admin log, newest first (by action time; ties by id, descending).' })
  @HasPermission(permissionFor(LOG_ENTRY, 'view'))
  logEntries(
    @Ctx() { em }: GatehouseContext,
    @Arg('first', () => Int, { nullable: true, description: FIRST_DESCRIPTION }) first?: number | null,
    @Arg('after', () => String, { nullable: true, description: AFTER_DESCRIPTION }) after?: string | null,
    @Arg('filter', () => LogEntryFilterInput, { nullable: true, description: 'Which entries; omitted: all.' })
    filter?: LogEntryFilterInput | null,
  ): Promise<Page<LogEntry>> {
    // The actors come in one batched statement with the page, never one per row.
    return findPage(em, LogEntry, logEntryWhere(filter ?? {}), LOG_ENTRY_ORDERING, { first, after }, { populate: ['user'] });
  }

  // The actor, as Django admin's history shows it: its id and username to anyone who may read the
  // log; the account itself (e-mail, flags, groups) only with auth.view_user, as everywhere else.
  @FieldResolver(() => User, {
    nullable: true,
    description: 'Who made the change; null for events without a local account. Needs auth.view_user; `userId` and `username` do not.',
  })
  @HasPermission(permissionFor(modelRef('auth', 'user'), 'view'))
  user(@Root() entry: LogEntry): User | null {
    return entry.user ?? null;
  }

  @FieldResolver(() => ID, { nullable: true, description: 'The id of who made the change (as Django admin’s history shows it).' })
  @GlobalIdOf('User')
  userId(@Root() entry: LogEntry): number | null {
    return entry.user?.id ?? null;
  }

  @FieldResolver(() => String, { nullable: true, description: 'The username of who made the change (as Django admin’s history shows it).' })
  username(@Root() entry: LogEntry): string | null {
    return entry.user?.username ?? null;
  }
}
