import { hashPassword } from '../../../src/users/passwords';
import type { PermissionName } from '../../../src/permissions/registry';
import { makeGroup, makeUser } from '../../support/factories';
import { startLoggedGatehouse, type LoggedGatehouse, type LogRecord } from '../../sso/support/logged-gatehouse';

export interface GraphQLReply {
  status: number;
  headers: Headers;
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, unknown> }>;
}

/** Gatehouse with its log lines kept, reached over real HTTP with a signed-in caller. */
export interface LoggedServer extends LoggedGatehouse {
  /** POSTs `{ query, variables }` as JSON; `token` goes in `Authorization: Bearer`. */
  graphql(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GraphQLReply>;
  /** POSTs `body` to /graphql as it is. */
  post(body: string | Uint8Array, headers?: Record<string, string>): Promise<GraphQLReply>;
  /** A new user holding `perms` through a group, signed in through the `login` mutation. */
  signInWith(perms: readonly PermissionName[], options?: { superuser?: boolean }): Promise<string>;
  /** The log records written since the last call. */
  takeLogs(): LogRecord[];
}

const PASSWORD = 'correct horse battery staple';

export async function startLoggedServer(env: Record<string, string> = {}): Promise<LoggedServer> {
  const server = await startLoggedGatehouse(env);
  let seen = server.logs.length;

  const post: LoggedServer['post'] = async (body, headers = {}) => {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    const text = await response.text();
    const parsed = (text ? JSON.parse(text) : {}) as Pick<GraphQLReply, 'data' | 'errors'>;
    return { status: response.status, headers: response.headers, data: parsed.data, errors: parsed.errors };
  };
  const graphql: LoggedServer['graphql'] = (query, variables, token) =>
    post(JSON.stringify({ query, variables }), token ? { authorization: `Bearer ${token}` } : {});

  return Object.assign(server, {
    graphql,
    post,
    async signInWith(perms: readonly PermissionName[], options: { superuser?: boolean } = {}) {
      const em = server.db.orm.em.fork();
      const user = await makeUser(em, { groups: [await makeGroup(em, perms)], isSuperuser: options.superuser });
      await em.fork().nativeUpdate('User', { id: user.id }, { password: await hashPassword(PASSWORD) });
      const reply = await graphql('mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', {
        u: user.username,
        p: PASSWORD,
      });
      const token = (reply.data?.login as { token?: string } | undefined)?.token;
      if (!token) throw new Error(`sign-in failed: ${JSON.stringify(reply.errors)}`);
      return token;
    },
    takeLogs() {
      const taken = server.logs.slice(seen);
      seen = server.logs.length;
      return taken;
    },
  });
}
