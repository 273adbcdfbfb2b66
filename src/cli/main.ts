import 'reflect-metadata';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../config/env';
import { createLogger, type Logger } from '../config/logger';
import { openDatabase, DatabaseUnavailableError, type Database } from '../db/database';
import { NotMigratedError } from '../db/migrate';
import { GatehouseError } from '../errors';
import { checkCommand } from './check';
import { createSuperuserCommand } from './createsuperuser';
import { makeMigrationsCommand, migrateCommand } from './migrate';
import { seedCommand } from './seed';
import { serveCommand } from './serve';

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

const COMMANDS: Record<string, Command> = {
  serve: serveCommand,
  migrate: migrateCommand,
  makemigrations: makeMigrationsCommand,
  seed: seedCommand,
  createsuperuser: createSuperuserCommand,
  check: checkCommand,
};

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
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`gatehouse: unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')})\n`);
    return 2;
  }
  let flags: CommandContext['flags'];
  try {
    const parsed = parseArgs({ args: rest, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false });
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
        const db = await openDatabase(config, logger);
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

function describe(error: unknown): string {
  if (error instanceof ConfigError || error instanceof DatabaseUnavailableError || error instanceof NotMigratedError || error instanceof GatehouseError || error instanceof UsageError) {
    return error.message;
  }
  // Unexpected: keep the message (no stack) so the operator still learns what failed.
  return `unexpected error: ${(error as Error)?.message ?? String(error)}`;
}
