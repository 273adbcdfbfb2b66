import type { GraphQLResolveInfo } from 'graphql';
import { Field, Info, ObjectType, Query, registerEnumType, Resolver } from 'type-graphql';
import { accessCatalog, Authenticated } from './access';

export enum AccessKind {
  PERMISSION = 'permission',
  AUTHENTICATED = 'authenticated',
  PUBLIC = 'public',
}

registerEnumType(AccessKind, {
  name: 'AccessKind',
  description: 'What a root operation requires',
  valuesConfig: {
    PERMISSION: { description: 'A signed-in user holding `permission` (@hasPermission).' },
    AUTHENTICATED: { description: 'Any signed-in user (@authenticated).' },
    PUBLIC: { description: 'Anyone, signed in or not (@public).' },
  },
});

@ObjectType({ description: 'The access one root operation requires, read from its directive.' })
export class OperationAccess {
  @Field(() => String, { description: 'The schema coordinate, e.g. Mutation.createTweet.' })
  coordinate!: string;

  @Field(() => AccessKind, { description: 'What the operation requires: a permission, a signed-in user, or nothing.' })
  kind!: AccessKind;

  @Field(() => String, { nullable: true, description: 'The permission required (app_label.codename) when kind is PERMISSION.' })
  permission!: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'The operation’s own description, which states the rules beyond the permission: e.g. the operations that grant permissions say that a non-superuser may grant only what it holds.',
  })
  description!: string | null;
}

@Resolver()
export class CatalogResolver {
  @Query(() => [OperationAccess], {
    description:
      'For every query and mutation, the access it requires — read from the running schema’s own directives — by coordinate (Mutation.… before Query.…).',
  })
  @Authenticated()
  permissionCatalog(@Info() info: GraphQLResolveInfo): OperationAccess[] {
    return accessCatalog(info.schema)
      .map(({ coordinate, access, description }) => ({
        coordinate,
        kind: access.kind as AccessKind,
        permission: access.kind === 'permission' ? access.permission : null,
        description,
      }))
      .sort((a, b) => (a.coordinate < b.coordinate ? -1 : a.coordinate > b.coordinate ? 1 : 0));
  }
}
