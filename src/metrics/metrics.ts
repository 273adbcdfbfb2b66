import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** How a sign-in was attempted. */
export type SignInMethod = 'password' | 'sso';

/** What one evaluation of the mapping rules at a sign-in gave. */
export type MappingResult = 'matched' | 'no_match' | 'groups_claim_problem';

/** The pool a Gatehouse process holds: connections in use, idle, and requests waiting for one. */
export interface PoolUsage {
  used: number;
  free: number;
  pending: number;
  max: number;
}

/**
 * What Gatehouse counts, recorded by the code that knows (one call each), and the registry that
 * `/metrics` renders. One per running service (never prom-client's global registry), so a
 * process — a test — may run several.
 */
export interface GatehouseMetrics {
  readonly registry: Registry;
  /** One GraphQL request answered: its operation (null when anonymous or unknown), its type, whether it had errors, its duration. */
  graphqlRequest(operationName: string | null | undefined, type: string | undefined, failed: boolean, seconds: number): void;
  /** A field refused by its access declaration: `permission` null for one that needs a signed-in user only. */
  denied(code: 'UNAUTHENTICATED' | 'FORBIDDEN', permission: string | null): void;
  /** A sign-in attempt: `reason` is a refusal's code (the sessions' PasswordRefusal, or single sign-on's SsoErrorCode). */
  signIn(method: SignInMethod, outcome: 'allowed' | 'refused', reason?: string): void;
  /** One evaluation of the enabled mapping rules (`via`: login, bearer or refresh). */
  mappingEvaluated(via: string, result: MappingResult, rules: number): void;
}

/** At most this many operation names get series of their own; later ones count as `other`. */
export const MAX_OPERATION_NAMES = 100;
const OPERATION_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/;

/**
 * Builds the instruments on a registry of their own, with Node's default process metrics
 * (memory, CPU, event loop, GC) and the database pool read at each scrape.
 */
export function createMetrics(options: { pool?: () => PoolUsage | null } = {}): GatehouseMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: 'gatehouse_graphql_requests_total',
    help: 'GraphQL requests answered, by operation name (anonymous, unknown or other beyond the first 100 names), type and outcome.',
    labelNames: ['operation', 'type', 'outcome'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'gatehouse_graphql_request_duration_seconds',
    help: 'Time from receiving a GraphQL request (session resolved) to its response, by operation name and type.',
    labelNames: ['operation', 'type'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const denials = new Counter({
    name: 'gatehouse_graphql_denials_total',
    help: 'Fields refused by their access declaration, by code and by the permission required (empty: a signed-in user only).',
    labelNames: ['code', 'permission'] as const,
    registers: [registry],
  });
  const signIns = new Counter({
    name: 'gatehouse_sign_ins_total',
    help: 'Interactive sign-ins (password: form and login mutation; sso: the code flow), by outcome and reason.',
    labelNames: ['method', 'outcome', 'reason'] as const,
    registers: [registry],
  });
  const mappings = new Counter({
    name: 'gatehouse_mapping_evaluations_total',
    help: 'Evaluations of the enabled group-mapping rules at a single sign-on, bearer token or session refresh, by result.',
    labelNames: ['via', 'result'] as const,
    registers: [registry],
  });
  const rulesEvaluated = new Counter({
    name: 'gatehouse_mapping_rules_evaluated_total',
    help: 'Mapping rules tried against claims, summed over the evaluations.',
    registers: [registry],
  });
  for (const method of ['password', 'sso'] as const) signIns.inc({ method, outcome: 'allowed', reason: '' }, 0);

  const pool = options.pool;
  if (pool) {
    const usage = (key: keyof PoolUsage) =>
      function (this: Gauge) {
        const now = pool();
        if (now) this.set(now[key]);
      };
    new Gauge({
      name: 'gatehouse_db_pool_connections_used',
      help: 'Database connections in use.',
      registers: [registry],
      collect: usage('used'),
    });
    new Gauge({
      name: 'gatehouse_db_pool_connections_idle',
      help: 'Open database connections idle in the pool.',
      registers: [registry],
      collect: usage('free'),
    });
    new Gauge({
      name: 'gatehouse_db_pool_pending_acquires',
      help: 'Requests waiting for a database connection.',
      registers: [registry],
      collect: usage('pending'),
    });
    new Gauge({
      name: 'gatehouse_db_pool_connections_max',
      help: 'Database connections the pool may open.',
      registers: [registry],
      collect: usage('max'),
    });
  }

  // Operation names come from the documents clients send: bounded, so a client cannot grow the
  // series without end.
  const names = new Set<string>();
  const operationLabel = (name: string | null | undefined): string => {
    if (!name) return 'anonymous';
    if (names.has(name)) return name;
    if (!OPERATION_NAME.test(name) || names.size >= MAX_OPERATION_NAMES) return 'other';
    names.add(name);
    return name;
  };

  return {
    registry,
    graphqlRequest(operationName, type, failed, seconds) {
      const operation = type ? operationLabel(operationName) : 'unknown';
      const kind = type ?? 'unknown';
      requests.inc({ operation, type: kind, outcome: failed ? 'error' : 'success' });
      latency.observe({ operation, type: kind }, seconds);
    },
    denied(code, permission) {
      denials.inc({ code, permission: permission ?? '' });
    },
    signIn(method, outcome, reason = '') {
      signIns.inc({ method, outcome, reason });
    },
    mappingEvaluated(via, result, rules) {
      mappings.inc({ via, result });
      rulesEvaluated.inc(rules);
    },
  };
}
