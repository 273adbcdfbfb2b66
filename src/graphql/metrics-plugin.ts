import type { ApolloServerPlugin, GraphQLRequestContext } from '@apollo/server';
import type { GatehouseMetrics } from '../metrics/metrics';

/** When each request's context began to be built (its session resolved), for the latency histogram. */
const started = new WeakMap<object, number>();

/**
 * Wraps the function that builds each request's context so that a request's duration counts
 * from before its session is resolved, not from when Apollo starts running it.
 */
export function timedContext<A, C extends object>(
  metrics: GatehouseMetrics | undefined,
  build: (args: A) => Promise<C>,
): (args: A) => Promise<C> {
  if (!metrics) return build;
  return async (args) => {
    const start = performance.now();
    const context = await build(args);
    started.set(context, start);
    return context;
  };
}

/**
 * Counts every GraphQL request answered and observes its duration, by operation name and type
 * (`GatehouseMetrics.graphqlRequest` bounds the names). One hook per request, at the response.
 */
export function metricsPlugin<C extends object>(metrics: GatehouseMetrics): ApolloServerPlugin<C> {
  return {
    async requestDidStart({ contextValue }: GraphQLRequestContext<C>) {
      const start = started.get(contextValue) ?? performance.now();
      return {
        async willSendResponse({ operationName, operation, response }) {
          const failed = response.body.kind === 'single' && Boolean(response.body.singleResult.errors?.length);
          metrics.graphqlRequest(operationName, operation?.operation, failed, (performance.now() - start) / 1000);
        },
      };
    },
  };
}
