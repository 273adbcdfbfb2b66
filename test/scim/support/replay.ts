import type { TestServer } from '../../support/server';
import { scimClient, substitute, type ScimResponse, type ScimStep } from './scim-client';

/**
 * Replays a provider's documented SCIM sequence against `server` with `token`: each step's
 * request (placeholders filled from earlier answers), its expected status and answer, then the
 * check the test attached to that step's name, if any. Fails naming the step.
 */
export async function replay(
  server: TestServer,
  token: string,
  steps: readonly ScimStep[],
  checks: Record<string, (vars: Record<string, string>, response: ScimResponse) => Promise<void>> = {},
): Promise<Record<string, string>> {
  const scim = scimClient(server.url, token);
  const vars: Record<string, string> = {};
  const unknown = Object.keys(checks).filter((name) => !steps.some((s) => s.name === name));
  if (unknown.length) throw new Error(`checks for steps that do not exist: ${unknown.join(', ')}`);
  for (const step of steps) {
    const response = await scim(step.method, substitute(step.path, vars), substitute(step.body, vars));
    expect({ step: step.name, status: response.status, body: response.status === step.status ? undefined : response.body }).toEqual({
      step: step.name,
      status: step.status,
      body: undefined,
    });
    if (step.status !== 204 && response.status < 300) expect(response.headers.get('content-type')).toMatch(/^application\/scim\+json/);
    if (step.response !== undefined)
      expect({ step: step.name, body: response.body }).toMatchObject({ step: step.name, body: substitute(step.response, vars) });
    for (const [name, attribute] of Object.entries(step.record ?? {})) vars[name] = String(response.body[attribute]);
    await checks[step.name]?.(vars, response);
  }
  return vars;
}
