import path from 'node:path';
import { ConfigError, loadConfig, PROJECT_ROOT } from '../../src/config/env';

/** The ConfigError that `env` causes (fails the test if it loads). */
function refusal(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('runs on defaults with nothing set: development, 127.0.0.1:4000, the embedded database in .data', () => {
    const config = loadConfig({});
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config).toMatchObject({
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: 4000,
      PUBLIC_URL: 'http://localhost:4000',
      DATABASE_POOL_MAX: 10,
      DATA_DIR: path.join(PROJECT_ROOT, '.data'),
      LOG_LEVEL: 'info',
      SESSION_IDLE_TIMEOUT: 7200,
      SESSION_ABSOLUTE_TIMEOUT: 604800,
      AUDIT_SIGNIN_RETENTION_DAYS: 90,
    });
  });

  it('treats empty and blank values as unset, as a copied .env.example leaves them', () => {
    const config = loadConfig({
      NODE_ENV: '',
      PORT: '',
      DATABASE_URL: '',
      DATA_DIR: ' ',
      LOG_LEVEL: '',
      SESSION_IDLE_TIMEOUT: '',
      PUBLIC_URL: '',
    });
    expect(config).toEqual(loadConfig({}));
  });

  it('reads valid values and derives PUBLIC_URL from PORT, without a trailing slash', () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      HOST: '0.0.0.0',
      PORT: '8080',
      DATABASE_URL: 'postgresql://gatehouse:secret@db:5432/gatehouse',
      DATABASE_POOL_MAX: '3',
      LOG_LEVEL: 'warn',
      SESSION_IDLE_TIMEOUT: '60',
      SESSION_ABSOLUTE_TIMEOUT: '3600',
      AUDIT_SIGNIN_RETENTION_DAYS: '400',
    });
    expect(config).toMatchObject({
      NODE_ENV: 'test',
      HOST: '0.0.0.0',
      PORT: 8080,
      PUBLIC_URL: 'http://localhost:8080',
      DATABASE_POOL_MAX: 3,
      LOG_LEVEL: 'warn',
      SESSION_IDLE_TIMEOUT: 60,
      SESSION_ABSOLUTE_TIMEOUT: 3600,
      AUDIT_SIGNIN_RETENTION_DAYS: 400,
    });
    expect(loadConfig({ PUBLIC_URL: 'https://gatehouse.example.com/' }).PUBLIC_URL).toBe('https://gatehouse.example.com');
  });

  it('accepts PORT=0 (any free port, for tests)', () => {
    expect(loadConfig({ PORT: '0' }).PORT).toBe(0);
  });

  it.each([
    ['PORT', 'http', 'expected a port number from 0 to 65535'],
    ['PORT', '70000', 'expected a port number from 0 to 65535'],
    ['PORT', '-1', 'expected a port number from 0 to 65535'],
    ['PORT', '0x10', 'expected a port number from 0 to 65535'],
    ['PORT', '80.5', 'expected a port number from 0 to 65535'],
    ['DATABASE_URL', 'mysql://x', 'expected postgres://user:password@host:5432/database'],
    ['DATABASE_URL', 'not a url', 'expected postgres://user:password@host:5432/database'],
    ['DATABASE_URL', 'postgres://db.example.com', 'expected postgres://user:password@host:5432/database'],
    ['DATABASE_POOL_MAX', '0', 'expected a whole number from 1 to 100'],
    ['DATABASE_POOL_MAX', 'many', 'expected a whole number from 1 to 100'],
    ['NODE_ENV', 'prod', 'expected development, production or test'],
    ['LOG_LEVEL', 'verbose', 'expected fatal, error, warn, info, debug, trace or silent'],
    ['PUBLIC_URL', 'gatehouse.example.com', 'expected an http(s) URL such as https://gatehouse.example.com'],
    ['SESSION_IDLE_TIMEOUT', '0', 'expected a positive whole number of seconds, e.g. 7200'],
    ['SESSION_IDLE_TIMEOUT', '-1', 'expected a positive whole number of seconds, e.g. 7200'],
    ['SESSION_IDLE_TIMEOUT', 'abc', 'expected a positive whole number of seconds, e.g. 7200'],
    ['SESSION_ABSOLUTE_TIMEOUT', '0', 'expected a positive whole number of seconds, e.g. 7200'],
    ['SESSION_ABSOLUTE_TIMEOUT', '-1', 'expected a positive whole number of seconds, e.g. 7200'],
    ['SESSION_ABSOLUTE_TIMEOUT', 'abc', 'expected a positive whole number of seconds, e.g. 7200'],
    ['AUDIT_SIGNIN_RETENTION_DAYS', '0', 'expected a whole number of days from 1 to 36500, e.g. 90'],
    ['AUDIT_SIGNIN_RETENTION_DAYS', '90d', 'expected a whole number of days from 1 to 36500, e.g. 90'],
    ['AUDIT_SIGNIN_RETENTION_DAYS', '36501', 'expected a whole number of days from 1 to 36500, e.g. 90'],
  ])('refuses %s=%j naming the variable, what is expected and what it got', (name, value, expected) => {
    const error = refusal({ [name]: value });
    expect(error.message).toBe(`[gatehouse.config.E001] invalid configuration: ${name}: ${expected} (got ${JSON.stringify(value)})`);
  });

  it('names every invalid variable at once, on one line', () => {
    const { message } = refusal({ PORT: 'http', LOG_LEVEL: 'loud', NODE_ENV: 'prod' });
    expect(message).not.toContain('\n');
    expect(message).toContain('PORT: ');
    expect(message).toContain('LOG_LEVEL: ');
    expect(message).toContain('NODE_ENV: ');
  });

  it('never repeats the password of a DATABASE_URL it refuses', () => {
    for (const url of [
      'postgres://gatehouse:s3cr3t@db.example.com',
      'postgres://gatehouse:s3cr3t@db:port/gatehouse',
      'mysql://gatehouse:s3cr3t@db/gatehouse',
    ]) {
      const { message } = refusal({ DATABASE_URL: url });
      expect(message).toContain('DATABASE_URL: ');
      expect(message).toContain('gatehouse:***@');
      expect(message).not.toContain('s3cr3t');
    }
  });

  it('refuses production without DATABASE_URL: the embedded database is for development', () => {
    expect(refusal({ NODE_ENV: 'production' }).message).toBe(
      '[gatehouse.config.E001] invalid configuration: DATABASE_URL: required in production (the embedded database is for development)',
    );
    expect(refusal({ NODE_ENV: 'production', DATABASE_URL: '' }).message).toContain('DATABASE_URL: required in production');
    expect(loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://gatehouse@db:5432/gatehouse' }).NODE_ENV).toBe('production');
  });
});
