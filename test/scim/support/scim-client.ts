import { CreateProvisioningTokenDocument } from '../../generated/graphql';
import type { TestServer } from '../../support/server';

/** A SCIM response: its status, its JSON body (undefined when empty) and headers. */
export interface ScimResponse {
  status: number;
  // SCIM bodies are checked against their documented shapes with toMatchObject.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Headers;
}

export type ScimRequest = (
  method: string,
  path: string,
  body?: unknown,
  options?: { token?: string | null; contentType?: string; rawBody?: string },
) => Promise<ScimResponse>;

/**
 * A SCIM client as identity providers are: `Authorization: Bearer <token>`, bodies as
 * `application/scim+json`, paths under `<baseUrl>/scim/v2`. `options.token: null` sends none;
 * `rawBody` sends bytes as they are (malformed JSON).
 */
export function scimClient(baseUrl: string, token: string): ScimRequest {
  return async (method, path, body, options = {}) => {
    const bearer = options.token === undefined ? token : options.token;
    const headers: Record<string, string> = { accept: 'application/scim+json' };
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    const payload = options.rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
    if (payload !== undefined) headers['content-type'] = options.contentType ?? 'application/scim+json; charset=utf-8';
    const response = await fetch(`${baseUrl}/scim/v2${path}`, { method, headers, body: payload });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
  };
}

/** A provisioning token for `issuer`, created through GraphQL by a superuser; returns its secret. */
export async function provisioningToken(
  server: TestServer,
  issuer: string,
  description = 'tests',
): Promise<{ secret: string; id: string }> {
  const { token } = await server.signInAsSuperuser();
  const result = await server.graphql(CreateProvisioningTokenDocument, { input: { description, issuer } }, token);
  const created = result.data?.createProvisioningToken;
  if (!created) throw new Error(`createProvisioningToken failed: ${JSON.stringify(result.errors)}`);
  return { secret: created.secret, id: created.provisioningToken.id };
}

/** Puts `{{name}}` placeholders of `value` (strings, deep) to the values recorded so far. */
export function substitute<T>(value: T, vars: Readonly<Record<string, string>>): T {
  if (typeof value === 'string')
    return value.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
      if (!(name in vars)) throw new Error(`no value recorded for {{${name}}}`);
      return vars[name];
    }) as T;
  if (Array.isArray(value)) return value.map((v) => substitute(v, vars)) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, vars)])) as T;
  return value;
}

/** One request of a provider's documented sequence, and what the provider expects back. */
export interface ScimStep {
  /** The documented operation ("Create User", "Disable User", …). */
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path under /scim/v2, with `{{placeholders}}` of values recorded by earlier steps. */
  path: string;
  body?: unknown;
  status: number;
  /** Part of the answer the provider relies on (toMatchObject). */
  response?: unknown;
  /** Values to record from the answer's body: placeholder name → top-level attribute. */
  record?: Record<string, string>;
}
