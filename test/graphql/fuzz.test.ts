import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import { buildSchema } from 'graphql';
import { startTestServer, type TestServer } from '../support/server';
import { makeFixtures } from './support/root-fields';
import { requestArbitrary, type GeneratedRequest } from './support/operation-arbitrary';

/*
 * Schema-driven fuzzing: thousands of random valid and near-valid requests generated from the
 * committed SDL (support/operation-arbitrary.ts) go over real HTTP to a running Gatehouse, as a
 * superuser and anonymously; none may answer HTTP 5xx or INTERNAL_SERVER_ERROR. The seed is fixed
 * so that CI is repeatable: FUZZ_SEED=<n> replays or explores another, FUZZ_RUNS=<n> sets how many
 * batches of requests run. A failure names the seed, the caller and the request.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261129);
const RUNS = Number(process.env.FUZZ_RUNS ?? 250);
/** Requests per run, sent at once (as several clients would). */
const BATCH = 8;

jest.setTimeout(180_000);

type Caller = 'superuser' | 'anonymous';

describe('fuzzing /graphql from the schema', () => {
  let server: TestServer;
  let superuser: string;
  const schema = buildSchema(fs.readFileSync(path.join(__dirname, '..', '..', 'schema', 'schema.graphql'), 'utf8'));
  let sent = 0;
  /** How the requests were answered: `data`, or the first error's code. */
  const outcomes = new Map<string, number>();

  beforeAll(async () => {
    server = await startTestServer();
    ({ token: superuser } = await server.signInAsSuperuser());
  });
  afterAll(() => server?.stop());

  /** Sends `request` as `caller`; a description of the fault, or null when the answer is not one. */
  async function fault(request: GeneratedRequest, caller: Caller): Promise<string | null> {
    sent++;
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(caller === 'superuser' ? { authorization: `Bearer ${superuser}` } : {}) },
      body: JSON.stringify(request),
    });
    const text = await response.text();
    let body: { errors?: Array<{ message: string; extensions?: { code?: string } }> };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      return `HTTP ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`;
    }
    const outcome = body.errors?.length ? (body.errors[0].extensions?.code ?? 'no code') : 'data';
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    const internal = body.errors?.filter((error) => error.extensions?.code === 'INTERNAL_SERVER_ERROR') ?? [];
    if (response.status >= 500 || internal.length) return `HTTP ${response.status}: ${JSON.stringify(body.errors)}`;
    // A mutation may end the superuser's own session (a password change, its own deactivation): sign in again.
    if (caller === 'superuser' && body.errors?.some((error) => error.extensions?.code === 'UNAUTHENTICATED'))
      ({ token: superuser } = await server.signInAsSuperuser());
    return null;
  }

  it(`answers ${RUNS * BATCH} generated requests (seed ${SEED}) with data or a client-mistake error, never a server fault`, async () => {
    const fixtures = await makeFixtures(server.db.orm.em.fork());
    const arbitrary = requestArbitrary(schema, {
      ids: Object.values(fixtures),
      strings: ['core.view_tweet', 'auth.change_user', 'B2E_APP_MANAGEMENT_SUPPORT', 'https://idp.example.com/', 'core', 'groups'],
      // They end the caller's session, which the run relies on (their refusals are tested elsewhere).
      excludedRootFields: ['logout', 'revokeSession'],
    });
    const started = Date.now();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(arbitrary, fc.constantFrom<Caller>('superuser', 'anonymous')), { minLength: BATCH, maxLength: BATCH }),
          async (batch) => {
            const faults = await Promise.all(batch.map(([request, caller]) => fault(request, caller)));
            const index = faults.findIndex((found) => found !== null);
            if (index >= 0) {
              const [request, caller] = batch[index];
              throw new Error(`as ${caller}, ${JSON.stringify(request)}\nanswered ${faults[index]}`);
            }
          },
        ),
        { seed: SEED, numRuns: RUNS, endOnFailure: process.env.FUZZ_SHRINK !== '1' },
      );
    } catch (error) {
      throw new Error(
        `fuzzing found a server fault (replay: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}; FUZZ_SHRINK=1 to shrink it):\n${(error as Error).message}\n${String((error as Error).cause ?? '')}`,
      );
    }
    const answers = [...outcomes].sort((a, b) => b[1] - a[1]).map(([outcome, count]) => `${outcome} ${count}`);
    console.log(
      `fuzzing: ${sent} requests (seed ${SEED}) in ${((Date.now() - started) / 1000).toFixed(1)} s, no server fault; answers: ${answers.join(', ')}`,
    );
    expect(sent).toBeGreaterThanOrEqual(RUNS * BATCH);
    // Not only noise: a good share of the requests were valid and answered with data.
    expect(outcomes.get('data') ?? 0).toBeGreaterThan(sent / 10);
  });
});
