import { Collection, Entity, ManyToOne, OneToMany, Opt, PrimaryKey, Property, Unique, type Rel } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { ScimUser } from './scim-user.entity';

/**
 * A directory group that an identity provider pushed through SCIM (a SCIM `Group` resource). It
 * is not a Gatehouse group: its name is a value of the groups claim its members present to the
 * mapping rules (see directory.ts), exactly as if the provider's token had carried it. Its
 * display name is unique at its issuer, as the rules read names, not ids.
 */
@Entity({ tableName: 'scim_group' })
@Unique({ name: 'scim_group_issuer_display_name_unique', properties: ['issuer', 'displayName'] })
export class ScimGroup {
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  @Property({ type: 'string', length: 255 })
  issuer!: string;

  @Property({ type: 'string', length: 255 })
  displayName!: string;

  @Property({ type: 'string', length: 255, nullable: true })
  externalId: string | null = null;

  @OneToMany({ entity: () => ScimGroupMember, mappedBy: 'group' })
  members = new Collection<ScimGroupMember>(this);

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime' })
  updatedAt: Date & Opt = new Date();
}

/** A SCIM user's membership of a SCIM group. */
@Entity({ tableName: 'scim_group_members' })
@Unique({ name: 'scim_group_members_group_member_unique', properties: ['group', 'member'] })
export class ScimGroupMember {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne({ entity: () => ScimGroup, deleteRule: 'cascade' })
  group!: Rel<ScimGroup>;

  @ManyToOne({ entity: () => ScimUser, deleteRule: 'cascade', index: 'scim_group_members_member_id_index' })
  member!: Rel<ScimUser>;
}
