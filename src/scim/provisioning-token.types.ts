import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { Connection } from '../graphql/connection';
import type { ProvisioningToken } from './provisioning-token.entity';

/* The GraphQL types of SCIM provisioning tokens (provisioning-token.resolver.ts). */

@ObjectType('ProvisioningToken', {
  description:
    'A credential of an identity provider’s SCIM client (sso.ProvisioningToken), bound to one issuer. Its secret is shown only once.',
})
export class ProvisioningTokenType {
  @Field(() => ID, { description: 'The token’s id.' })
  id!: number;

  @Field(() => String, { description: 'What the token is for.' })
  description!: string;

  @Field(() => String, { description: 'The identity provider whose users and groups the token provisions, and only those.' })
  issuer!: string;

  @Field(() => String, { nullable: true, description: 'The username of the admin who created it; null once that user is deleted.' })
  createdBy!: string | null;

  @Field(() => Date, { description: 'When it was created.' })
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: 'When it was last used (to the minute).' })
  lastUsedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'When it was revoked; null while it is live.' })
  revokedAt!: Date | null;
}

/** A token as the API shows it (its `createdBy` populated). */
export const provisioningTokenType = (token: ProvisioningToken): ProvisioningTokenType => ({
  id: token.id,
  description: token.description,
  issuer: token.issuer,
  createdBy: token.createdBy?.username ?? null,
  createdAt: token.createdAt,
  lastUsedAt: token.lastUsedAt,
  revokedAt: token.revokedAt,
});

export const ProvisioningTokenConnection = Connection(ProvisioningTokenType);

@InputType({ description: 'A new provisioning token.' })
export class CreateProvisioningTokenInput {
  @Field(() => String, { description: 'What the token is for, e.g. "Okta production".' })
  description!: string;

  @Field(() => String, {
    nullable: true,
    description: 'The issuer (OIDC_ISSUER) of the provider whose directory the token speaks for; omitted: the running single sign-on’s.',
  })
  issuer?: string | null;
}

@ObjectType({ description: 'A new provisioning token and its secret, which Gatehouse never shows again.' })
export class CreatedProvisioningToken {
  @Field(() => String, { description: 'The secret, for the provider’s SCIM settings (`Authorization: Bearer <secret>`). Shown once.' })
  secret!: string;

  @Field(() => String, { description: 'The SCIM base URL to give the provider: PUBLIC_URL/scim/v2.' })
  scimBaseUrl!: string;

  @Field(() => ProvisioningTokenType, { description: 'The token as `provisioningTokens` lists it.' })
  provisioningToken!: ProvisioningTokenType;
}
