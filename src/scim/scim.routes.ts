import type { EntityManager } from '@mikro-orm/postgresql';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Logger } from '../config/logger';
import { GatehouseError } from '../errors';
import { authenticateProvisioningToken } from './provisioning-tokens.service';
import type { ProvisioningToken } from './provisioning-token.entity';
import { ScimError, invalidSyntax } from './scim-errors';
import { createGroup, deleteGroup, getGroup, listGroups, patchGroup, replaceGroup } from './scim-groups.service';
import type { ListQuery, ScimContext } from './scim-resources';
import { resourceTypeResources, SCIM_PATH, schemaResources, serviceProviderConfig } from './scim-schema';
import { createUser, deleteUser, getUser, listUsers, patchUser, replaceUser } from './scim-users.service';

/*
 * The SCIM 2.0 service provider (RFC 7644) at /scim/v2, mounted by src/http/server.ts. Every
 * request presents a provisioning token (`Authorization: Bearer gh_scim_…`); bodies are
 * `application/scim+json` (or `application/json`), and so are answers, errors included
 * (`urn:ietf:params:scim:api:messages:2.0:Error`).
 */

const MEDIA_TYPE = 'application/scim+json';

export interface ScimRouteDeps {
  /** A new EntityManager for a request. */
  fork(): EntityManager;
  /** Gatehouse's public base URL (PUBLIC_URL). */
  publicUrl: string;
  /** The groups claim the mapping rules read, as single sign-on has it. */
  groupsClaim: string;
  logger: Logger;
}

type Handler = (ctx: ScimContext, req: Request) => Promise<{ status: number; body?: Record<string, unknown>; location?: string }>;

const send = (res: Response, status: number, body?: unknown) => {
  res.status(status).set('Cache-Control', 'no-store');
  if (body === undefined) res.end();
  else res.type(MEDIA_TYPE).send(JSON.stringify(body));
};

const listResources = (resources: Record<string, unknown>[]) => ({
  schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
  totalResults: resources.length,
  startIndex: 1,
  itemsPerPage: resources.length,
  Resources: resources,
});

function queryOf(req: Request): ListQuery {
  const pick = (name: keyof ListQuery) => {
    const value = req.query[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw invalidSyntax(`${name} must be given once`);
    return value;
  };
  return {
    filter: pick('filter'),
    startIndex: pick('startIndex'),
    count: pick('count'),
    attributes: pick('attributes'),
    excludedAttributes: pick('excludedAttributes'),
  };
}

/** The router of /scim/v2. */
export function scimRoutes(deps: ScimRouteDeps): Router {
  const router = express.Router({ caseSensitive: false });
  const baseUrl = `${deps.publicUrl.replace(/\/+$/, '')}${SCIM_PATH}`;
  const tokens = new WeakMap<Request, ProvisioningToken>();

  const authenticate: RequestHandler = async (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const token = match ? await authenticateProvisioningToken(deps.fork(), match[1]) : null;
    if (!token) {
      res.set('WWW-Authenticate', 'Bearer realm="Gatehouse SCIM"');
      const detail = match
        ? 'the provisioning token is unknown or revoked'
        : 'a provisioning token is required: Authorization: Bearer <token>';
      return send(res, 401, new ScimError(401, null, detail).toJSON());
    }
    tokens.set(req, token);
    next();
  };

  const route =
    (handler: Handler): RequestHandler =>
    async (req, res) => {
      const ctx: ScimContext = { em: deps.fork(), token: tokens.get(req)!, baseUrl, groupsClaim: deps.groupsClaim };
      const { status, body, location } = await handler(ctx, req);
      if (location) res.set('Location', location);
      send(res, status, body);
    };

  const requireJson: RequestHandler = (req, _res, next) => {
    if (!req.is([MEDIA_TYPE, 'application/json'])) throw new ScimError(415, null, `send the body as ${MEDIA_TYPE}`);
    next();
  };
  const json = express.json({ type: [MEDIA_TYPE, 'application/json'], limit: '1mb' });
  const withBody = [requireJson, json];

  router.use(authenticate);
  router.get(
    '/ServiceProviderConfig',
    route(async () => ({ status: 200, body: serviceProviderConfig(baseUrl) })),
  );
  router.get(
    '/ResourceTypes',
    route(async () => ({ status: 200, body: listResources(resourceTypeResources(baseUrl)) })),
  );
  router.get(
    '/ResourceTypes/:id',
    route(async (_ctx, req) => {
      const found = resourceTypeResources(baseUrl).find((r) => r.id === req.params.id);
      if (!found) throw new ScimError(404, null, `no resource type ${req.params.id}`);
      return { status: 200, body: found };
    }),
  );
  router.get(
    '/Schemas',
    route(async () => ({ status: 200, body: listResources(schemaResources(baseUrl)) })),
  );
  router.get(
    '/Schemas/:id',
    route(async (_ctx, req) => {
      const found = schemaResources(baseUrl).find((r) => r.id === req.params.id);
      if (!found) throw new ScimError(404, null, `no schema ${req.params.id}`);
      return { status: 200, body: found };
    }),
  );

  router.get(
    '/Users',
    route(async (ctx, req) => ({ status: 200, body: await listUsers(ctx, queryOf(req)) })),
  );
  router.post(
    '/Users',
    withBody,
    route(async (ctx, req) => {
      const { resource, location } = await createUser(ctx, req.body);
      return { status: 201, body: resource, location };
    }),
  );
  router.get(
    '/Users/:id',
    route(async (ctx, req) => ({ status: 200, body: await getUser(ctx, String(req.params.id), queryOf(req)) })),
  );
  router.put(
    '/Users/:id',
    withBody,
    route(async (ctx, req) => ({ status: 200, body: await replaceUser(ctx, String(req.params.id), req.body) })),
  );
  router.patch(
    '/Users/:id',
    withBody,
    route(async (ctx, req) => ({ status: 200, body: await patchUser(ctx, String(req.params.id), req.body) })),
  );
  router.delete(
    '/Users/:id',
    route(async (ctx, req) => {
      await deleteUser(ctx, String(req.params.id));
      return { status: 204 };
    }),
  );

  router.get(
    '/Groups',
    route(async (ctx, req) => ({ status: 200, body: await listGroups(ctx, queryOf(req)) })),
  );
  router.post(
    '/Groups',
    withBody,
    route(async (ctx, req) => {
      const { resource, location } = await createGroup(ctx, req.body);
      return { status: 201, body: resource, location };
    }),
  );
  router.get(
    '/Groups/:id',
    route(async (ctx, req) => ({ status: 200, body: await getGroup(ctx, String(req.params.id), queryOf(req)) })),
  );
  router.put(
    '/Groups/:id',
    withBody,
    route(async (ctx, req) => ({ status: 200, body: await replaceGroup(ctx, String(req.params.id), req.body) })),
  );
  router.patch(
    '/Groups/:id',
    withBody,
    route(async (ctx, req) => {
      await patchGroup(ctx, String(req.params.id), req.body);
      return { status: 204 };
    }),
  );
  router.delete(
    '/Groups/:id',
    route(async (ctx, req) => {
      await deleteGroup(ctx, String(req.params.id));
      return { status: 204 };
    }),
  );

  router.use((req, res) => send(res, 404, new ScimError(404, null, `no SCIM endpoint ${req.method} ${SCIM_PATH}${req.path}`).toJSON()));
  router.use(scimErrors(deps.logger));
  return router;
}

/**
 * Every failure as a SCIM error body: SCIM's own errors as they are, Gatehouse's by their code
 * (CONFLICT → 409 uniqueness when a value is taken, BAD_USER_INPUT → 400 invalidValue,
 * NOT_FOUND → 404), a body that is not JSON → 400 invalidSyntax, anything else logged and 500.
 */
function scimErrors(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const scimError = toScimError(error);
    if (scimError.status >= 500) logger.error({ err: error, path: req.path }, 'SCIM request failed');
    else
      logger.info(
        { status: scimError.status, scimType: scimError.scimType, detail: scimError.detail, path: req.path },
        'SCIM request refused',
      );
    send(res, scimError.status, scimError.toJSON());
  };
}

function toScimError(error: unknown): ScimError {
  if (error instanceof ScimError) return error;
  if (error instanceof GatehouseError) {
    switch (error.code) {
      case 'CONFLICT':
        return new ScimError(409, error.details.field ? 'uniqueness' : null, error.message);
      case 'BAD_USER_INPUT':
        return new ScimError(400, 'invalidValue', error.message);
      case 'NOT_FOUND':
        return new ScimError(404, null, error.message);
      case 'FORBIDDEN':
        return new ScimError(403, null, error.message);
      default:
        return new ScimError(401, null, error.message);
    }
  }
  const bodyError = error as { status?: unknown; type?: unknown } | null;
  if (bodyError && bodyError.type === 'entity.parse.failed') return invalidSyntax('the body is not valid JSON');
  if (bodyError && bodyError.type === 'entity.too.large') return new ScimError(413, null, 'the body is larger than 1 MB');
  if (bodyError && typeof bodyError.status === 'number' && bodyError.status >= 400 && bodyError.status < 500)
    return new ScimError(bodyError.status, null, 'the body cannot be read');
  return new ScimError(500, null, 'internal server error');
}
