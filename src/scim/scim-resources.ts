import type { EntityManager } from '@mikro-orm/postgresql';
import { invalidSyntax, invalidValue } from './scim-errors';
import type { ProvisioningToken } from './provisioning-token.entity';
import { attributeNamed, CORE_SCHEMA, LIST_RESPONSE, MAX_RESULTS, type ResourceType } from './scim-schema';

/*
 * What every SCIM operation shares: who asks (the token, hence the issuer), where the service
 * is, list parameters (RFC 7644 §3.4.2) and the `attributes` / `excludedAttributes` projection
 * (§3.4.2.5).
 */

/** One SCIM request's context: the token that authenticated it (bound to its issuer). */
export interface ScimContext {
  readonly em: EntityManager;
  readonly token: ProvisioningToken;
  /** `PUBLIC_URL/scim/v2`, for `meta.location`. */
  readonly baseUrl: string;
  /** The groups claim the mapping rules read (OIDC_GROUPS_CLAIM, or the development IdP's). */
  readonly groupsClaim: string;
}

/** A list request's query parameters, as strings (or absent). */
export interface ListQuery {
  filter?: string;
  startIndex?: string;
  count?: string;
  attributes?: string;
  excludedAttributes?: string;
}

export interface ListPage {
  /** 1-based. */
  startIndex: number;
  count: number;
}

function integerParameter(name: string, value: string | undefined): number | null {
  if (value === undefined || value === '') return null;
  if (!/^-?\d{1,9}$/.test(value.trim())) throw invalidValue(`${name} must be an integer`);
  return Number(value);
}

/**
 * `startIndex` (1-based; below 1 is 1) and `count` (0 or more, at most MAX_RESULTS, which is also
 * the default), as RFC 7644 §3.4.2.4 reads them.
 */
export function listPage(query: ListQuery): ListPage {
  const startIndex = Math.max(1, integerParameter('startIndex', query.startIndex) ?? 1);
  const count = Math.min(MAX_RESULTS, Math.max(0, integerParameter('count', query.count) ?? MAX_RESULTS));
  return { startIndex, count };
}

/** A ListResponse (RFC 7644 §3.4.2). */
export function listResponse(total: number, page: ListPage, resources: Record<string, unknown>[]): Record<string, unknown> {
  return {
    schemas: [LIST_RESPONSE],
    totalResults: total,
    startIndex: page.startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}

/** The top-level attributes a response leaves out: those of `excludedAttributes`, or all but those of `attributes`. */
export interface Projection {
  readonly includes: (attribute: string) => boolean;
}

const ALWAYS = new Set(['id', 'schemas', 'meta']);

/**
 * Reads `attributes` and `excludedAttributes` (comma-separated attribute names; sub-attribute
 * paths narrow to their top-level attribute). `id`, `schemas` and `meta` are always returned.
 * An attribute the resource does not have is ignored, as RFC 7644 §3.4.2.5 allows.
 */
export function projection(type: ResourceType, query: Pick<ListQuery, 'attributes' | 'excludedAttributes'>): Projection {
  if (query.attributes && query.excludedAttributes) throw invalidSyntax('give attributes or excludedAttributes, not both');
  const names = (list: string) =>
    new Set(
      list
        .split(',')
        .map(
          (name) =>
            name
              .trim()
              .replace(new RegExp(`^${CORE_SCHEMA[type].replace(/\./g, '\\.')}:`, 'i'), '')
              .split('.')[0],
        )
        .map((name) => attributeNamed(type, name)?.name)
        .filter((name): name is string => name !== undefined),
    );
  if (query.attributes) {
    const wanted = names(query.attributes);
    return { includes: (attribute) => ALWAYS.has(attribute) || wanted.has(attribute) };
  }
  const excluded = query.excludedAttributes ? names(query.excludedAttributes) : new Set<string>();
  return { includes: (attribute) => ALWAYS.has(attribute) || !excluded.has(attribute) };
}

/** `resource` without the attributes `view` leaves out. */
export function project(resource: Record<string, unknown>, view: Projection): Record<string, unknown> {
  return Object.fromEntries(Object.entries(resource).filter(([key]) => view.includes(key)));
}

/** The body of a request that writes a resource: a JSON object whose `schemas` names the resource's core schema. */
export function resourceBody(type: ResourceType, body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw invalidSyntax(`the body must be a ${type} resource (a JSON object)`);
  const { schemas } = body as Record<string, unknown>;
  // Other schema URIs (Entra ID adds the enterprise extension's and its own) are ignored.
  if (!Array.isArray(schemas) || !schemas.includes(CORE_SCHEMA[type])) throw invalidValue(`schemas must contain ${CORE_SCHEMA[type]}`);
  return body as Record<string, unknown>;
}

/** `meta` of a resource (RFC 7643 §3.1). */
export function meta(type: ResourceType, location: string, created: Date, lastModified: Date): Record<string, unknown> {
  return { resourceType: type, created: created.toISOString(), lastModified: lastModified.toISOString(), location };
}
