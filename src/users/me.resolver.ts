import { Ctx, Field, ObjectType, Query, Resolver } from 'type-graphql';
import type { GatehouseContext } from '../graphql/context';
import { Public } from '../graphql/access';
import { User } from './user.entity';

@ObjectType({ description: 'The signed-in user and what they may do.' })
export class Me {
  @Field(() => User, { description: 'The signed-in user’s account.' })
  user!: User;

  @Field(() => [String], { description: 'Effective permissions as app_label.codename, sorted (by code point).' })
  permissions!: string[];
}

@Resolver()
export class MeResolver {
  @Query(() => Me, { nullable: true, description: 'The signed-in user; null when the request has no valid session.' })
  @Public()
  async me(@Ctx() { viewer: user, permissions }: GatehouseContext): Promise<Me | null> {
    if (!user) return null;
    return { user, permissions: [...(await permissions.getAllPermissions(user))].sort() };
  }
}
