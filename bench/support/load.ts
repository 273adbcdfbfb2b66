/** Load generators: autocannon for single requests, a closed loop of async flows for sequences. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface LoadResult {
  /** Requests (or flows) completed. */
  count: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** What the first failure said, if any failed. */
  firstError?: string;
  /** For flows: latencies of named steps (ms), e.g. the SSO callback. */
  steps?: Record<string, number[]>;
}

export interface HttpRequestSpec {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  duration: number;
  errors: number;
  non2xx: number;
  timeouts: number;
}

/**
 * Drives `request` with autocannon for `seconds` over `connections` keep-alive connections, in a
 * child process (bench/load.js) so that the load generator does not share an event loop with
 * anything measured.
 */
export async function autocannon(request: HttpRequestSpec, seconds: number, connections: number, timeoutSeconds = 60): Promise<LoadResult> {
  const options = {
    url: request.url,
    method: request.method ?? 'POST',
    headers: request.headers ?? {},
    body: request.body,
    connections,
    duration: seconds,
    timeout: timeoutSeconds,
  };
  const { stdout } = await run(process.execPath, [path.join(__dirname, '..', 'load.js'), JSON.stringify(options)], {
    maxBuffer: 64 * 1024 * 1024,
  });
  const result = JSON.parse(stdout) as AutocannonResult;
  return {
    count: result.requests.total,
    seconds: result.duration,
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx + result.timeouts,
  };
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** What one flow reports: how many requests it counts for, and named step latencies. */
export interface FlowOutcome {
  requests: number;
  steps?: Record<string, number>;
}

/**
 * Runs `flow(worker, iteration)` in `concurrency` closed loops for `seconds` (each loop starts its
 * next flow when the previous one ends); a flow that throws counts as an error. Latency is per
 * flow; `count` is the requests the completed flows report.
 */
export async function flows(
  concurrency: number,
  seconds: number,
  flow: (worker: number, iteration: number) => Promise<FlowOutcome>,
): Promise<LoadResult> {
  const latencies: number[] = [];
  const steps: Record<string, number[]> = {};
  let count = 0;
  let errors = 0;
  let firstError: unknown;
  let iteration = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < deadline) {
        const at = performance.now();
        try {
          const outcome = await flow(worker, iteration++);
          latencies.push(performance.now() - at);
          count += outcome.requests;
          for (const [name, ms] of Object.entries(outcome.steps ?? {})) (steps[name] ??= []).push(ms);
        } catch (error) {
          errors++;
          firstError ??= error;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  if (errors && !count) throw new Error(`every flow failed: ${String((firstError as Error)?.message ?? firstError)}`);
  return {
    count,
    seconds: elapsed,
    rps: count / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors,
    firstError: errors ? String((firstError as Error)?.message ?? firstError) : undefined,
    steps,
  };
}

/**
 * Sends `request` from `connections` closed loops for `seconds` and waits for the requests in
 * flight at the end, so a request slower than the run still counts (autocannon drops those).
 * For slow requests; a response other than 200, or with GraphQL errors, is an error.
 */
export function closedLoop(request: HttpRequestSpec, seconds: number, connections: number): Promise<LoadResult> {
  return flows(connections, seconds, async () => {
    const response = await fetch(request.url, { method: request.method ?? 'POST', headers: request.headers, body: request.body });
    const text = await response.text();
    if (response.status !== 200 || text.startsWith('{"errors"')) throw new Error(`${response.status}: ${text.slice(0, 200)}`);
    return { requests: 1 };
  });
}
