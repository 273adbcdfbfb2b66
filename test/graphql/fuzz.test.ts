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
 * superuser, as a user holding some permissions and anonymously; none may answer HTTP 5xx or
 * INTERNAL_SERVER_ERROR. The seed is fixed so that CI is repeatable: FUZZ_SEED=<n> replays or
 * explores another, FUZZ_RUNS=<n> sets how many batches of requests run, FUZZ_SHRINK=1 shrinks a
 * failure to a smaller request. A failure names the seed, the caller and the request.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261129);
const RUNS = Number(process.env.FUZZ_RUNS ?? 250);
/** Requests per run, sent at once (as several clients would). */
const BATCH = 8;

/** A request not answered within this long is a fault too (a hang, a deadlock). */
const ANSWER_WITHIN_MS = 20_000;

jest.setTimeout(Math.max(180_000, RUNS * BATCH * 60));

type Caller = 'superuser' | 'staff' | 'anonymous';

/** What the `staff` caller holds: some views and the grants whose rules (granting only what one holds) are the subtlest. */
const STAFF_PERMISSIONS = [
  'auth.view_user',
  'auth.change_user',
  'auth.view_group',
  'auth.change_group',
  'core.view_tweet',
  'core.add_tweet',
  'sso.view_groupmappingrule',
  'sso.add_groupmappingrule',
  'admin.view_logentry',
] as const;

describe('fuzzing /graphql from the schema', () => {
  let server: TestServer;
  const tokens: Partial<Record<Caller, string>> = {};
  const schema = buildSchema(fs.readFileSync(path.join(__dirname, '..', '..', 'schema', 'schema.graphql'), 'utf8'));
  let sent = 0;
  /** How the requests were answered: `data`, or the first error's code. */
  const outcomes = new Map<string, number>();

  beforeAll(async () => {
    server = await startTestServer();
    tokens.superuser = (await server.signInAsSuperuser()).token;
    tokens.staff = (await server.signInWith(STAFF_PERMISSIONS)).token;
  });
  afterAll(() => server?.stop());

  /** Sends `request` as `caller`; a description of the fault, or null when the answer is not one. */
  async function fault(request: GeneratedRequest, caller: Caller): Promise<string | null> {
    sent++;
    let response: Response;
    try {
      response = await fetch(`${server.url}/graphql`, {
        signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(tokens[caller] ? { authorization: `Bearer ${tokens[caller]}` } : {}) },
        body: JSON.stringify(request),
      });
    } catch (error) {
      return `no answer: ${(error as Error).message}`;
    }
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
    // A mutation may end the caller's own session (a password change, a deactivation): sign in again.
    if (caller === 'superuser' && body.errors?.some((error) => error.extensions?.code === 'UNAUTHENTICATED'))
      tokens.superuser = (await server.signInAsSuperuser()).token;
    if (caller === 'staff' && body.errors?.some((error) => error.extensions?.code === 'UNAUTHENTICATED'))
      tokens.staff = (await server.signInWith(STAFF_PERMISSIONS)).token;
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
          fc.array(fc.tuple(arbitrary, fc.constantFrom<Caller>('superuser', 'staff', 'anonymous')), { minLength: BATCH, maxLength: BATCH }),
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
