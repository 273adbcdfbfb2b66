import 'reflect-metadata';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SystemCheckError } from '../checks';
import type { Config } from '../config/env';
import type { Logger } from '../config/logger';
import type { Database } from '../db/database';

/** What a command receives: its flags, the configuration, a logger and a way to reach the database. */
export interface CommandContext {
  readonly flags: Record<string, string | boolean | undefined>;
  readonly config: Config;
  readonly logger: Logger;
  /** Opens the configured database, runs `fn`, and closes it. */
  withDatabase<T>(fn: (db: Database) => Promise<T>): Promise<T>;
  /** Writes one line for the person at the terminal. */
  say(line: string): void;
}

/** What a command does, in the command's own module; resolves to the exit status (0 when void). */
export type CommandRun = (ctx: CommandContext) => Promise<number | void>;

export interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Loads the command's module (and all it imports) and returns what runs. */
  load(): CommandRun;
}

/** A command used wrongly: shown with the command's usage, exit status 2. */
export class UsageError extends Error {}

/** How long a command waits for a Gatehouse server that holds the embedded database but is still starting. */
const STARTING_SERVER_WAIT_MS = 60_000;

/** Where `createsuperuser --no-input` reads the password when `--password` is not given. */
export const SUPERUSER_PASSWORD_ENV = 'GATEHOUSE_SUPERUSER_PASSWORD';

// The commands' descriptions live here and their modules are loaded only when one runs, so that
// `gatehouse --help` (or `<command> --help`, or a mistyped command line) is answered without
// loading the database layer or the GraphQL server, and `migrate` does not pay for the server.
// (`require`, because TypeScript keeps a dynamic import() of a relative path as a real ES
// import, which these .ts files are not.)
/* eslint-disable @typescript-eslint/no-require-imports */
const COMMANDS: Record<string, Command> = {
  serve: {
    summary: 'run the service (applies migrations first); SIGINT or SIGTERM stops it cleanly',
    usage: 'gatehouse serve',
    options: {},
    load: () => (require('./serve') as typeof import('./serve')).serve,
  },
  migrate: {
    summary:
      'apply pending database migrations and synchronise the permissions with the model registry (--check: exit 1 if any is pending, apply nothing)',
    usage: 'gatehouse migrate [--check]',
    options: { check: { type: 'boolean' } },
    load: () => (require('./migrate') as typeof import('./migrate')).migrate,
  },
  makemigrations: {
    summary: 'write a migration for model changes (--check: exit 1 if one is needed, write nothing)',
    usage: 'gatehouse makemigrations [--name <name>] [--check]',
    options: { name: { type: 'string' }, check: { type: 'boolean' } },
    load: () => (require('./migrate') as typeof import('./migrate')).makeMigrations,
  },
  seed: {
    summary: 'create the reference groups (viewer, business, support, developer), their permissions and their single sign-on mapping rules',
    usage: 'gatehouse seed',
    options: {},
    load: () => (require('./seed') as typeof import('./seed')).seed,
  },
  createsuperuser: {
    summary: `create a superuser (asks in a terminal; for scripts pass --no-input with --username, --email and --password or ${SUPERUSER_PASSWORD_ENV})`,
    usage: `gatehouse createsuperuser [--username <name>] [--email <address>] [--password <password>] [--no-input]`,
    options: { username: { type: 'string' }, email: { type: 'string' }, password: { type: 'string' }, 'no-input': { type: 'boolean' } },
    load: () => (require('./createsuperuser') as typeof import('./createsuperuser')).createSuperuser,
  },
  check: {
    summary: 'run the system checks (configuration, schema, database); print each finding with its id, exit 1 on an error',
    usage: 'gatehouse check',
    options: {},
    load: () => (require('./check') as typeof import('./check')).check,
  },
};
const loadEnv = () => require('../config/env') as typeof import('../config/env');
const loadLogger = () => require('../config/logger') as typeof import('../config/logger');
const loadErrors = () => require('../errors') as typeof import('../errors');
const loadDatabase = () => require('../db/database') as typeof import('../db/database');
const loadMigrate = () => require('../db/migrate') as typeof import('../db/migrate');
const loadOrmCore = () => require('@mikro-orm/core') as typeof import('@mikro-orm/core');
/* eslint-enable @typescript-eslint/no-require-imports */

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`);
  return `usage: gatehouse <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun \`gatehouse <command> --help\` for a command's options.`;
}

/** Runs the command line `argv` (without node and the script); resolves to the exit status. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(help() + '\n');
    return name === undefined ? 2 : 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    process.stderr.write(`gatehouse: unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')})\n`);
    return 2;
  }
  let flags: CommandContext['flags'];
  try {
    const parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
    flags = parsed.values as CommandContext['flags'];
  } catch (error) {
    process.stderr.write(`gatehouse ${name}: ${(error as Error).message.split('\n')[0]}\nusage: ${command.usage}\n`);
    return 2;
  }
  if (flags.help) {
    process.stdout.write(`usage: ${command.usage}\n${command.summary}\n`);
    return 0;
  }
  try {
    const config = loadEnv().loadConfig(env);
    const logger = loadLogger().createLogger(name === 'serve' ? config.LOG_LEVEL : env.LOG_LEVEL ? config.LOG_LEVEL : 'warn');
    const ctx: CommandContext = {
      flags,
      config,
      logger,
      say: (line) => process.stdout.write(line + '\n'),
      async withDatabase(fn) {
        // Beside `npm start` on the embedded database, through that server's own connection.
        const db = await loadDatabase().openDatabase(config, logger, {
          besideRunningServer: { startingTimeoutMs: STARTING_SERVER_WAIT_MS },
        });
        try {
          return await fn(db);
        } finally {
          await db.close();
        }
      },
    };
    return (await command.load()(ctx)) ?? 0;
  } catch (error) {
    process.stderr.write(`gatehouse ${name}: ${describe(error)}\n`);
    if (error instanceof UsageError) process.stderr.write(`usage: ${command.usage}\n`);
    return error instanceof UsageError ? 2 : 1;
  }
}

/**
 * One line for the operator: the message of an expected failure, never SQL or a stack trace.
 * Failed system checks are the exception: one line each, with its id.
 */
function describe(error: unknown): string {
  if (error instanceof SystemCheckError) return error.message;
  if (error instanceof UsageError || error instanceof loadEnv().ConfigError || error instanceof loadErrors().GatehouseError)
    return error.message;
  if (
    error instanceof loadDatabase().DatabaseUnavailableError ||
    error instanceof loadDatabase().RunningServerError ||
    error instanceof loadMigrate().NotMigratedError
  )
    return error.message;
  if (error instanceof loadOrmCore().DriverException) {
    // The driver's message starts with the SQL and its parameters (a password hash, say):
    // keep only what the database said.
    const first = error.message.split('\n')[0];
    const said = first.includes(' - ') ? first.slice(first.lastIndexOf(' - ') + 3) : first;
    return `database error${error.code ? ` ${error.code}` : ''}: ${said}`;
  }
  // Unexpected: keep the first line of the message (no stack) so the operator still learns what failed.
  return `unexpected error: ${String((error as Error)?.message ?? error).split('\n')[0]}`;
}
