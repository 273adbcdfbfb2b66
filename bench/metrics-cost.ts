/**
 * What /metrics costs per GraphQL request, without the noise of a loaded machine: the hooks a
 * request runs when metrics are on (the context timer, the Apollo plugin's two hooks, one counter
 * and one histogram observation), in process, against an awaited no-op; and the CPU of one scrape.
 * `node bench/run.js metrics-cost`.
 */
import { metricsPlugin, timedContext } from '../src/graphql/metrics-plugin';
import { createMetrics } from '../src/metrics/metrics';

const REQUESTS = 200_000;

const cpuMicros = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return used.user + used.system;
};

export async function main(): Promise<number> {
  const metrics = createMetrics();
  const plugin = metricsPlugin<object>(metrics);
  const build = timedContext(metrics, async () => ({}));
  const bare = async () => ({});
  const response = { body: { kind: 'single', singleResult: { data: {} } } };
  type Hooks = { willSendResponse(context: unknown): Promise<void> };
  for (let round = 1; round <= 3; round++) {
    let since = process.cpuUsage();
    for (let i = 0; i < REQUESTS; i++) {
      const contextValue = await build({});
      const hooks = (await plugin.requestDidStart!({ contextValue } as never)) as unknown as Hooks;
      await hooks.willSendResponse({ operationName: 'Me', operation: { operation: 'query' }, response });
    }
    const on = cpuMicros(since) / REQUESTS;
    since = process.cpuUsage();
    for (let i = 0; i < REQUESTS; i++) await bare();
    const off = cpuMicros(since) / REQUESTS;
    process.stdout.write(`round ${round}: metrics hooks ${on.toFixed(2)} µs CPU per request (an awaited no-op: ${off.toFixed(2)} µs)\n`);
  }
  const since = process.cpuUsage();
  const text = await metrics.registry.metrics();
  process.stdout.write(`one scrape: ${(cpuMicros(since) / 1000).toFixed(2)} ms CPU, ${text.length} bytes\n`);
  return 0;
}
