import { parse, type AttrExp, type Compare, type Filter, type LogExp, type NotFilter } from 'scim2-parse-filter';
import { invalidFilter, invalidPath, mutability } from './scim-errors';

/*
 * What Gatehouse's SCIM service provider keeps of RFC 7643's User and Group, declared once:
 * `/Schemas` prints these definitions, and PATCH paths and filters are checked against them.
 * An attribute not declared here is one Gatehouse does not keep.
 */

/** Where the SCIM service provider is, under PUBLIC_URL. */
export const SCIM_PATH = '/scim/v2';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';
const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
const SERVICE_PROVIDER_CONFIG_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';

export type ResourceType = 'User' | 'Group';

export interface AttributeDef {
  readonly name: string;
  readonly type: 'string' | 'boolean' | 'complex' | 'reference';
  readonly multiValued: boolean;
  readonly required: boolean;
  readonly caseExact: boolean;
  readonly mutability: 'readOnly' | 'readWrite' | 'immutable';
  readonly returned: 'always' | 'default';
  readonly uniqueness: 'none' | 'server';
  readonly description: string;
  readonly subAttributes?: readonly AttributeDef[];
  readonly referenceTypes?: readonly string[];
}

const attr = (name: string, type: AttributeDef['type'], description: string, more: Partial<AttributeDef> = {}): AttributeDef => ({
  name,
  type,
  multiValued: false,
  required: false,
  caseExact: false,
  mutability: 'readWrite',
  returned: 'default',
  uniqueness: 'none',
  description,
  ...more,
});

const ID = attr('id', 'string', 'The SCIM id Gatehouse gave the resource (a UUID).', {
  caseExact: true,
  mutability: 'readOnly',
  returned: 'always',
  uniqueness: 'server',
});

export const USER_ATTRIBUTES: readonly AttributeDef[] = [
  ID,
  attr(
    'externalId',
    'string',
    "The person's subject (`sub`) at the token's issuer: single sign-on finds this user by it. Required; it cannot change.",
    { caseExact: true, mutability: 'immutable', required: true },
  ),
  attr('userName', 'string', 'The Gatehouse username: letters, digits and @ . + - _, at most 150 characters; unique.', {
    required: true,
    uniqueness: 'server',
  }),
  attr('name', 'complex', 'The person’s names.', {
    subAttributes: [
      attr('givenName', 'string', 'First name, at most 150 characters.'),
      attr('familyName', 'string', 'Last name, at most 150 characters.'),
      attr('formatted', 'string', 'givenName and familyName, joined by a space.', { mutability: 'readOnly' }),
    ],
  }),
  attr('displayName', 'string', 'givenName and familyName joined by a space; userName when both are empty.', {
    mutability: 'readOnly',
  }),
  attr('emails', 'complex', 'Gatehouse keeps one address: the primary one, else the first; it is shown as type work.', {
    multiValued: true,
    subAttributes: [
      attr('value', 'string', 'An e-mail address.'),
      attr('type', 'string', 'Always work when read back.'),
      attr('primary', 'boolean', 'Always true when read back.'),
    ],
  }),
  attr('active', 'boolean', 'false: the user is deactivated and their sessions end at once.'),
  attr('groups', 'complex', 'The SCIM groups the user is a member of.', {
    multiValued: true,
    mutability: 'readOnly',
    subAttributes: [
      attr('value', 'string', 'The group’s id.', { mutability: 'readOnly', caseExact: true }),
      attr('display', 'string', 'The group’s displayName.', { mutability: 'readOnly' }),
    ],
  }),
];

export const GROUP_ATTRIBUTES: readonly AttributeDef[] = [
  ID,
  attr('externalId', 'string', 'The provider’s own id of the group.', { caseExact: true }),
  attr(
    'displayName',
    'string',
    'The group’s name, unique at the issuer: the value of the groups claim its members present to the mapping rules.',
    { required: true, uniqueness: 'server' },
  ),
  attr('members', 'complex', 'The users in the group (nested groups are not supported).', {
    multiValued: true,
    subAttributes: [
      attr('value', 'string', 'The id of a SCIM user of the same issuer.', { mutability: 'immutable', caseExact: true }),
      attr('display', 'string', 'The member’s userName.', { mutability: 'readOnly' }),
      attr('type', 'string', 'Always User.', { mutability: 'readOnly' }),
    ],
  }),
];

export const ATTRIBUTES: Readonly<Record<ResourceType, readonly AttributeDef[]>> = { User: USER_ATTRIBUTES, Group: GROUP_ATTRIBUTES };
export const CORE_SCHEMA: Readonly<Record<ResourceType, string>> = { User: USER_SCHEMA, Group: GROUP_SCHEMA };
const ENDPOINT: Readonly<Record<ResourceType, string>> = { User: '/Users', Group: '/Groups' };

const findAttribute = (attributes: readonly AttributeDef[], name: string) =>
  attributes.find((a) => a.name.toLowerCase() === name.toLowerCase());

/** The attribute a name designates (attribute names are case-insensitive, RFC 7643 §2.1), or undefined. */
export function attributeNamed(type: ResourceType, name: string): AttributeDef | undefined {
  return findAttribute(ATTRIBUTES[type], name);
}

/** `name` without the resource's core schema URN prefix (`urn:…:core:2.0:User:userName` → `userName`). */
function withoutCoreUrn(type: ResourceType, name: string): string {
  const prefix = `${CORE_SCHEMA[type]}:`;
  return name.toLowerCase().startsWith(prefix.toLowerCase()) ? name.slice(prefix.length) : name;
}

/** A PATCH path checked against the schema (RFC 7644 §3.5.2's `attrPath` or `valuePath [ "." subAttr ]`). */
export interface ResolvedPath {
  readonly attribute: AttributeDef;
  readonly filter: string | null;
  readonly subAttribute: AttributeDef | null;
  /** The path with the schema's own spelling of the names, as the patch library compares them. */
  readonly canonical: string;
}

const PATH = /^([A-Za-z][\w$-]*)(?:\[(.+)\])?(?:\.([A-Za-z][\w$-]*))?$/s;

/**
 * Resolves a PATCH operation's `path` against the resource's attributes.
 *
 * @throws ScimError invalidPath for a malformed path, an attribute or sub-attribute Gatehouse
 *   does not keep, or a filter on a single-valued attribute; invalidFilter for a value filter
 *   that does not parse or compares anything but the attribute's sub-attributes; mutability for
 *   a readOnly target.
 */
export function resolvePath(type: ResourceType, path: string): ResolvedPath {
  const bare = withoutCoreUrn(type, path.trim());
  if (bare.toLowerCase().startsWith('urn:'))
    throw invalidPath(`"${path}": Gatehouse keeps no attribute of that schema (only ${CORE_SCHEMA[type]}; see /Schemas)`);
  const match = PATH.exec(bare);
  if (!match) throw invalidPath(`"${path}" is not a valid attribute path`);
  const [, name, filter, sub] = match;
  const attribute = attributeNamed(type, name);
  if (!attribute) throw invalidPath(`"${path}": ${type} has no attribute ${name} that Gatehouse keeps (see /Schemas)`);
  if (filter !== undefined) {
    if (!attribute.multiValued) throw invalidPath(`"${path}": ${attribute.name} is single-valued and takes no filter`);
    checkValueFilter(attribute, filter, path);
  }
  let subAttribute: AttributeDef | null = null;
  if (sub !== undefined) {
    subAttribute = attribute.subAttributes ? (findAttribute(attribute.subAttributes, sub) ?? null) : null;
    if (!subAttribute) throw invalidPath(`"${path}": ${attribute.name} has no sub-attribute ${sub} that Gatehouse keeps`);
  }
  const target = subAttribute ?? attribute;
  if (attribute.mutability === 'readOnly' || target.mutability === 'readOnly')
    throw mutability(`"${path}": ${subAttribute ? `${attribute.name}.${subAttribute.name}` : attribute.name} is read-only`);
  return {
    attribute,
    filter: filter ?? null,
    subAttribute,
    canonical: `${attribute.name}${filter !== undefined ? `[${filter}]` : ''}${subAttribute ? `.${subAttribute.name}` : ''}`,
  };
}

function checkValueFilter(attribute: AttributeDef, filter: string, path: string): void {
  let parsed: Filter;
  try {
    parsed = parse(filter);
  } catch {
    throw invalidFilter(`"${path}": the filter ${filter} does not parse`);
  }
  const names = new Set((attribute.subAttributes ?? []).map((a) => a.name.toLowerCase()));
  const visit = (f: Filter): void => {
    if (f.op === 'and' || f.op === 'or') return (f as LogExp).filters.forEach(visit);
    if (f.op === 'not') return visit((f as NotFilter).filter);
    if (f.op === '[]') throw invalidFilter(`"${path}": value filters do not nest`);
    const { attrPath } = f as AttrExp;
    if (!names.has(attrPath.toLowerCase())) throw invalidFilter(`"${path}": ${attribute.name} has no sub-attribute ${attrPath}`);
  };
  visit(parsed);
}

/** The one filter a list request may carry: `<attribute> eq "<value>"`. */
export interface EqualityFilter {
  readonly attribute: 'userName' | 'externalId' | 'displayName';
  readonly value: string;
}

/** The attributes each resource can be filtered by (with `eq` only). */
export const FILTERABLE: Readonly<Record<ResourceType, readonly EqualityFilter['attribute'][]>> = {
  User: ['userName', 'externalId'],
  Group: ['displayName', 'externalId'],
};

/**
 * Parses a list request's `filter` (RFC 7644 §3.4.2.2) with scim2-parse-filter. Gatehouse
 * answers exactly the filters identity providers send to find a resource before creating it:
 * `userName eq "…"` and `externalId eq "…"` on Users, `displayName eq "…"` and `externalId eq "…"`
 * on Groups.
 *
 * @throws ScimError invalidFilter naming what is not supported (another attribute, operator or
 *   combination, a value that is not a string) or that the filter does not parse.
 */
export function parseListFilter(type: ResourceType, filter: string): EqualityFilter {
  let parsed: Filter;
  try {
    parsed = parse(filter);
  } catch {
    throw invalidFilter(`the filter ${JSON.stringify(filter)} does not parse`);
  }
  const supported = FILTERABLE[type].map((a) => `${a} eq "…"`).join(' or ');
  if (parsed.op !== 'eq') throw invalidFilter(`Gatehouse supports only ${supported} on ${type}s, not the operator ${parsed.op}`);
  const compare = parsed as Compare;
  const name = withoutCoreUrn(type, compare.attrPath);
  const attribute = FILTERABLE[type].find((a) => a.toLowerCase() === name.toLowerCase());
  if (!attribute) throw invalidFilter(`Gatehouse supports only ${supported} on ${type}s, not a filter on ${compare.attrPath}`);
  if (typeof compare.compValue !== 'string') throw invalidFilter(`${attribute} eq takes a string in double quotes`);
  return { attribute, value: compare.compValue };
}

/** `/Schemas` (RFC 7643 §7), or one schema of it. */
export function schemaResources(baseUrl: string): Record<string, unknown>[] {
  return (['User', 'Group'] as const).map((type) => ({
    schemas: [SCHEMA_SCHEMA],
    id: CORE_SCHEMA[type],
    name: type,
    description: type === 'User' ? 'A Gatehouse user provisioned by the identity provider' : 'A directory group',
    attributes: ATTRIBUTES[type].map(describeAttribute),
    meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${CORE_SCHEMA[type]}` },
  }));
}

function describeAttribute(def: AttributeDef): Record<string, unknown> {
  return {
    name: def.name,
    type: def.type,
    multiValued: def.multiValued,
    description: def.description,
    required: def.required,
    caseExact: def.caseExact,
    mutability: def.mutability,
    returned: def.returned,
    uniqueness: def.uniqueness,
    ...(def.subAttributes ? { subAttributes: def.subAttributes.map(describeAttribute) } : {}),
    ...(def.referenceTypes ? { referenceTypes: def.referenceTypes } : {}),
  };
}

/** `/ResourceTypes` (RFC 7643 §6). */
export function resourceTypeResources(baseUrl: string): Record<string, unknown>[] {
  return (['User', 'Group'] as const).map((type) => ({
    schemas: [RESOURCE_TYPE_SCHEMA],
    id: type,
    name: type,
    endpoint: ENDPOINT[type],
    description: type === 'User' ? 'Gatehouse users' : 'Directory groups, read by the mapping rules',
    schema: CORE_SCHEMA[type],
    schemaExtensions: [],
    meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/${type}` },
  }));
}

/** The most resources one list response returns (`count` above it is lowered to it). */
export const MAX_RESULTS = 200;

/** `/ServiceProviderConfig` (RFC 7643 §5). */
export function serviceProviderConfig(baseUrl: string): Record<string, unknown> {
  return {
    schemas: [SERVICE_PROVIDER_CONFIG_SCHEMA],
    documentationUri: `${baseUrl.replace(/\/scim\/v2$/, '')}/graphql`,
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Provisioning token',
        description: 'Authorization: Bearer <token>, a provisioning token a Gatehouse superuser created (createProvisioningToken)',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
  };
}
