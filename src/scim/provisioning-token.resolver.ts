import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { Page } from '../db/keyset';
import { HasPermission } from '../graphql/access';
import { AFTER_DESCRIPTION, FIRST_DESCRIPTION } from '../graphql/conventions';
import type { GatehouseContext } from '../graphql/context';
import { permissionFor } from '../permissions/registry';
import {
  CreatedProvisioningToken,
  CreateProvisioningTokenInput,
  ProvisioningTokenConnection,
  ProvisioningTokenType,
  provisioningTokenType as toType,
} from './provisioning-token.types';
import { createProvisioningToken, listProvisioningTokens, revokeProvisioningToken, TOKEN_MODEL } from './provisioning-tokens.service';
import { SCIM_PATH } from './scim-schema';

@Resolver()
export class ProvisioningTokenResolver {
  @Query(() => ProvisioningTokenConnection, { description: 'The SCIM provisioning tokens, revoked ones included, oldest first (by id).' })
  @HasPermission(permissionFor(TOKEN_MODEL, 'view'))
  async provisioningTokens(
    @Ctx() { em }: GatehouseContext,
    @Arg('first', () => Int, { nullable: true, description: FIRST_DESCRIPTION }) first?: number | null,
    @Arg('after', () => String, { nullable: true, description: AFTER_DESCRIPTION }) after?: string | null,
  ): Promise<Page<ProvisioningTokenType>> {
    const page = await listProvisioningTokens(em, first, after);
    return { ...page, edges: page.edges.map((edge) => ({ cursor: edge.cursor, node: toType(edge.node) })) };
  }

  @Mutation(() => CreatedProvisioningToken, {
    description: 'Creates a SCIM provisioning token bound to an issuer and returns its secret, once.',
  })
  @HasPermission(permissionFor(TOKEN_MODEL, 'add'))
  async createProvisioningToken(
    @Arg('input', () => CreateProvisioningTokenInput, { description: 'The new token.' }) input: CreateProvisioningTokenInput,
    @Ctx() { em, user, services }: GatehouseContext,
  ): Promise<CreatedProvisioningToken> {
    const { token, secret } = await createProvisioningToken(
      em,
      user,
      { description: input.description, issuer: input.issuer ?? null },
      services.sso?.relyingParty.issuer ?? null,
    );
    return { secret, scimBaseUrl: `${services.config.PUBLIC_URL.replace(/\/+$/, '')}${SCIM_PATH}`, provisioningToken: toType(token) };
  }

  @Mutation(() => ProvisioningTokenType, {
    description: 'Revokes a provisioning token at once; the SCIM requests that present it are refused.',
  })
  @HasPermission(permissionFor(TOKEN_MODEL, 'change'))
  async revokeProvisioningToken(
    @Arg('id', () => ID, { description: 'The token’s id.' }) id: string,
    @Ctx() { em, user }: GatehouseContext,
  ): Promise<ProvisioningTokenType> {
    return toType(await revokeProvisioningToken(em, user, id));
  }
}
