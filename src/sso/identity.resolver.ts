import { Arg, Ctx, Field, ID, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import { nodeKey } from '../db/ids';
import { HasPermission } from '../graphql/access';
import type { GatehouseContext } from '../graphql/context';
import { DeletePayload, deleted } from '../graphql/conventions';
import { GlobalIdOf } from '../graphql/global-ids';
import { permissionFor } from '../permissions/registry';
import { IDENTITY_MODEL, linkIdentity, listIdentities, unlinkIdentity } from './identities.service';
import type { SsoIdentity } from './sso-identity.entity';

@ObjectType('SsoIdentity', { description: 'A person’s identity at an OpenID provider (issuer + subject), linked to one account.' })
export class SsoIdentityType {
  @Field(() => ID, { description: 'The identity’s id, for `unlinkIdentity`.' })
  id!: number;

  @Field(() => ID, { description: 'The account it signs in as.' })
  @GlobalIdOf('User')
  userId!: number;

  @Field(() => String, { description: 'The provider’s issuer identifier.' })
  issuer!: string;

  @Field(() => String, { description: 'The `sub` the provider names the person by.' })
  subject!: string;

  @Field(() => Date, { description: 'When it was linked.' })
  createdAt!: Date;

  @Field(() => Date, { description: 'The last single sign-on through it (its creation, if never used).' })
  lastLoginAt!: Date;
}

/** An identity as the API shows it. */
export const ssoIdentityType = (identity: SsoIdentity): SsoIdentityType => ({
  id: identity.id,
  userId: identity.user.id,
  issuer: identity.issuer,
  subject: identity.subject,
  createdAt: identity.createdAt,
  lastLoginAt: identity.lastLoginAt,
});

const HAND_OVER =
  'It hands the account to whoever holds the identity: only superusers hold this permission unless one delegates it, and a non-superuser may act only on an account whose every permission it holds.';

@Resolver()
export class SsoIdentityResolver {
  @Query(() => [SsoIdentityType], { description: 'The single sign-on identities linked to a user, by issuer, then subject.' })
  @HasPermission(permissionFor(IDENTITY_MODEL, 'view'))
  async ssoIdentities(
    @Ctx() { em }: GatehouseContext,
    @Arg('userId', () => ID, { description: 'The user’s id.' }) userId: string,
  ): Promise<SsoIdentityType[]> {
    return (await listIdentities(em, nodeKey(userId, 'User', 'userId'))).map(ssoIdentityType);
  }

  @Mutation(() => SsoIdentityType, {
    description: `Links an identity at a provider (issuer + subject) to a user, who can then sign in through it; audited. ${HAND_OVER}`,
  })
  @HasPermission(permissionFor(IDENTITY_MODEL, 'add'))
  async linkIdentity(
    @Ctx() ctx: GatehouseContext,
    @Arg('userId', () => ID, { description: 'The user’s id.' }) userId: string,
    @Arg('issuer', () => String, { description: 'The provider’s issuer identifier, as its tokens carry it in `iss`.' }) issuer: string,
    @Arg('subject', () => String, { description: 'The person’s `sub` at that provider.' }) subject: string,
  ): Promise<SsoIdentityType> {
    return ssoIdentityType(await linkIdentity(ctx.em, ctx.user!, nodeKey(userId, 'User', 'userId'), { issuer, subject }));
  }

  @Mutation(() => DeletePayload, {
    description: `Unlinks an identity from its user and ends the user’s single sign-on sessions; audited. ${HAND_OVER}`,
  })
  @HasPermission(permissionFor(IDENTITY_MODEL, 'delete'))
  async unlinkIdentity(
    @Ctx() ctx: GatehouseContext,
    @Arg('id', () => ID, { description: 'The identity’s id (SsoIdentity.id).' }) id: string,
  ): Promise<DeletePayload> {
    return deleted('SsoIdentity', await unlinkIdentity(ctx.em, ctx.user!, nodeKey(id, 'SsoIdentity', 'id')));
  }
}
