import { ConfigError, loadConfig } from '../../src/config/env';

describe('GRAPHQL_EXPLORER', () => {
  it('defaults to Apollo Sandbox in development and test, and to no explorer in production', () => {
    expect(loadConfig({}).GRAPHQL_EXPLORER).toBe('sandbox');
    expect(loadConfig({ NODE_ENV: 'test' }).GRAPHQL_EXPLORER).toBe('sandbox');
    expect(loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://g@db:5432/g' }).GRAPHQL_EXPLORER).toBe('none');
    expect(loadConfig({ GRAPHQL_EXPLORER: '' }).GRAPHQL_EXPLORER).toBe('sandbox');
  });

  it.each(['sandbox', 'graphiql', 'none'])('accepts %s, in production too', (value) => {
    expect(loadConfig({ GRAPHQL_EXPLORER: value }).GRAPHQL_EXPLORER).toBe(value);
    expect(loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://g@db:5432/g', GRAPHQL_EXPLORER: value }).GRAPHQL_EXPLORER).toBe(
      value,
    );
  });

  it.each(['GraphiQL', 'apollo', 'true'])('refuses %j, naming the variable and the accepted values', (value) => {
    expect(() => loadConfig({ GRAPHQL_EXPLORER: value })).toThrow(ConfigError);
    expect(() => loadConfig({ GRAPHQL_EXPLORER: value })).toThrow(
      `invalid configuration: GRAPHQL_EXPLORER: expected sandbox, graphiql or none (got ${JSON.stringify(value)})`,
    );
  });
});
