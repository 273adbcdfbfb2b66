import 'reflect-metadata';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SystemCheckError } from '../checks';
import { ConfigError, loadConfig, type Config } from '../config/env';
import { createLogger, type Logger } from '../config/logger';
import type { Database } from '../db/database';
import { GatehouseError } from '../errors';

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

export interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(ctx: CommandContext): Promise<number | void>;
}

/** A command used wrongly: shown with the command's usage, exit status 2. */
export class UsageError extends Error {}

// Each command is loaded only when it runs, so that `migrate` does not pay for the GraphQL
// server and a mistyped command line is answered at once. (`require`, because TypeScript keeps
// a dynamic import() of a relative path as a real ES import, which these .ts files are not.)
/* eslint-disable @typescript-eslint/no-require-imports */
const COMMANDS: Record<string, () => Command> = {
  serve: () => (require('./serve') as typeof import('./serve')).serveCommand,
  migrate: () => (require('./migrate') as typeof import('./migrate')).migrateCommand,
  makemigrations: () => (require('./migrate') as typeof import('./migrate')).makeMigrationsCommand,
  seed: () => (require('./seed') as typeof import('./seed')).seedCommand,
  createsuperuser: () => (require('./createsuperuser') as typeof import('./createsuperuser')).createSuperuserCommand,
  check: () => (require('./check') as typeof import('./check')).checkCommand,
};
const loadDatabase = () => require('../db/database') as typeof import('../db/database');
const loadMigrate = () => require('../db/migrate') as typeof import('../db/migrate');
const loadOrmCore = () => require('@mikro-orm/core') as typeof import('@mikro-orm/core');
/* eslint-enable @typescript-eslint/no-require-imports */

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, load]) => `  ${name.padEnd(width)}  ${load().summary}`);
  return `usage: gatehouse <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun \`gatehouse <command> --help\` for a command's options.`;
}

/** Runs the command line `argv` (without node and the script); resolves to the exit status. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(help() + '\n');
    return name === undefined ? 2 : 0;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) {
    process.stderr.write(`gatehouse: unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')})\n`);
    return 2;
  }
  const command = load();
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
    const config = loadConfig(env);
    const logger = createLogger(name === 'serve' ? config.LOG_LEVEL : env.LOG_LEVEL ? config.LOG_LEVEL : 'warn');
    const ctx: CommandContext = {
      flags,
      config,
      logger,
      say: (line) => process.stdout.write(line + '\n'),
      async withDatabase(fn) {
        const db = await loadDatabase().openDatabase(config, logger);
        try {
          return await fn(db);
        } finally {
          await db.close();
        }
      },
    };
    return (await command.run(ctx)) ?? 0;
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
  if (error instanceof ConfigError || error instanceof GatehouseError || error instanceof UsageError) return error.message;
  if (error instanceof loadDatabase().DatabaseUnavailableError || error instanceof loadMigrate().NotMigratedError) return error.message;
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
