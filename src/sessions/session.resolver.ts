import { Arg, Ctx, Field, ID, Int, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import { nodeKey } from '../db/ids';
import { GatehouseError, notFound } from '../errors';
import { Authenticated, Public } from '../graphql/access';
import type { GatehouseContext } from '../graphql/context';
import { DeletePayload, deleted } from '../graphql/conventions';
import { User } from '../users/user.entity';
import { loginWithPassword } from './password-login';
import { AuthMethod, Session } from './session.entity';
import { endOtherSessions, endOwnSession, listSessions, signOut } from './sessions.service';
import { registerEnumType } from 'type-graphql';

registerEnumType(AuthMethod, {
  name: 'AuthMethod',
  description: 'How a session was signed in.',
  valuesConfig: {
    PASSWORD: { description: 'A local username and password.' },
    OIDC: { description: 'Single sign-on at the OpenID provider.' },
  },
});

@ObjectType('Session', { description: 'A sign-in of the current user.' })
export class SessionInfo {
  @Field(() => ID, { description: 'The session’s id, for `revokeSession`.' })
  id!: string;

  @Field(() => AuthMethod, { description: 'How it was signed in.' })
  authMethod!: AuthMethod;

  @Field(() => Date, { description: 'When it was signed in.' })
  createdAt!: Date;

  @Field(() => Date, { description: 'Its last request (to the minute).' })
  lastSeenAt!: Date;

  @Field(() => Date, { description: 'When it ends at the latest (the absolute timeout).' })
  expiresAt!: Date;

  @Field(() => String, { description: 'The browser or client that signed in (its User-Agent).' })
  userAgent!: string;

  @Field(() => String, { description: 'The address it signed in from.' })
  ipAddress!: string;

  @Field(() => Boolean, { description: 'True for the session this request uses.' })
  current!: boolean;
}

@ObjectType({ description: 'A new session.' })
export class LoginResult {
  @Field(() => String, {
    description: 'The session token, for `Authorization: Bearer <token>`. Browsers also get it as an HttpOnly cookie.',
  })
  token!: string;

  @Field(() => User, { description: 'The signed-in user.' })
  user!: User;
}

/** A session as its owner sees it; `current` when it is `currentId`. */
export const sessionInfo = (session: Session, currentId: string | undefined): SessionInfo => ({
  id: session.id,
  authMethod: session.authMethod,
  createdAt: session.createdAt,
  lastSeenAt: session.lastSeenAt,
  expiresAt: session.expiresAt,
  userAgent: session.userAgent,
  ipAddress: session.ipAddress,
  current: session.id === currentId,
});

@Resolver()
export class SessionResolver {
  @Mutation(() => LoginResult, {
    description:
      'Signs in with a local username and password and starts a new session, ending the one the request carried. At most 5 attempts per account are checked per 15 minutes; every refusal has the same message.',
  })
  @Public()
  async login(
    @Arg('username', () => String, { description: 'The username.' }) username: string,
    @Arg('password', () => String, { description: 'The password.' }) password: string,
    @Ctx() ctx: GatehouseContext,
  ): Promise<LoginResult> {
    const { ipAddress, userAgent, sessionToken } = ctx.request;
    const meta = { ipAddress, userAgent, replacing: sessionToken };
    const { token, session } = await loginWithPassword(ctx.em, { username, password }, meta, {
      policy: ctx.services.sessionPolicy,
      throttle: ctx.services.loginThrottle,
      metrics: ctx.services.metrics,
    });
    ctx.request.setSessionToken(token);
    return { token, user: session.user };
  }

  @Mutation(() => Boolean, { description: 'Ends the current session.' })
  @Authenticated()
  async logout(@Ctx() ctx: GatehouseContext): Promise<boolean> {
    // A request authenticated by a provider access token has no session to end.
    if (ctx.session) await signOut(ctx.em, ctx.session, 'graphql');
    ctx.request.clearSessionToken();
    return true;
  }

  @Query(() => String, {
    nullable: true,
    description:
      'Where to send the browser after `logout` to sign out at the identity provider too (RP-initiated logout, with `id_token_hint`); null for a password session or a provider without logout. Read it before calling `logout`; browsers can instead POST /oidc/logout/, which does both.',
  })
  @Authenticated()
  async logoutUrl(@Ctx() ctx: GatehouseContext): Promise<string | null> {
    if (!ctx.session || !ctx.services.sso) return null;
    return ctx.services.sso.logoutUrl(ctx.em, ctx.session);
  }

  @Query(() => [SessionInfo], { description: 'The current user’s live sessions, newest first (by sign-in time; ties by id, descending).' })
  @Authenticated()
  async mySessions(@Ctx() ctx: GatehouseContext): Promise<SessionInfo[]> {
    const sessions = await listSessions(ctx.em, ctx.user!.id, ctx.services.sessionPolicy);
    return sessions.map((s) => sessionInfo(s, ctx.session?.id));
  }

  @Mutation(() => DeletePayload, {
    description: 'Ends one of the current user’s sessions (it leaves `mySessions`); another user’s is NOT_FOUND.',
  })
  @Authenticated()
  async revokeSession(
    @Arg('id', () => ID, { description: 'The session’s id, from `mySessions`.' }) id: string,
    @Ctx() ctx: GatehouseContext,
  ): Promise<DeletePayload> {
    const sessionId = nodeKey(id, 'Session', 'id');
    if (!(await endOwnSession(ctx.em, ctx.user!, sessionId, 'graphql', ctx.session?.id))) throw notFound('session', id);
    if (sessionId === ctx.session?.id) ctx.request.clearSessionToken();
    return deleted('Session', sessionId);
  }

  @Mutation(() => Int, {
    description:
      'Ends every session of the current user but the one this request uses ("sign out everywhere else"); returns how many ended.',
  })
  @Authenticated()
  async revokeOtherSessions(@Ctx() ctx: GatehouseContext): Promise<number> {
    // A provider access token is no session: "everywhere else" would be everywhere.
    if (!ctx.session) throw new GatehouseError('BAD_USER_INPUT', 'only a request made with a session can keep it', { field: 'session' });
    return endOtherSessions(ctx.em, ctx.user!, ctx.session.id, 'graphql');
  }
}
