import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { assertMigrated } from '../db/migrate';
import { createSuperuser as createSuperuserAccount } from '../users/users.service';
import { SUPERUSER_PASSWORD_ENV as PASSWORD_ENV, UsageError, type CommandRun } from './main';

/** `gatehouse createsuperuser`: asks in a terminal, or takes everything from flags with `--no-input`. */
export const createSuperuser: CommandRun = async ({ flags, withDatabase, say }) => {
  const interactive = !flags['no-input'] && process.stdin.isTTY === true;
  let username = flags.username as string | undefined;
  let email = flags.email as string | undefined;
  let password = (flags.password as string | undefined) ?? process.env[PASSWORD_ENV];
  if (!interactive) {
    if (username === undefined) throw new UsageError('missing --username (or run it in a terminal to be asked)');
    if (password === undefined) throw new UsageError(`missing --password or ${PASSWORD_ENV} (or run it in a terminal to be asked)`);
    email ??= '';
  } else {
    username ??= await ask('Username: ');
    email ??= await ask('Email address (optional): ');
    if (password === undefined) {
      password = await ask('Password: ', true);
      if ((await ask('Password (again): ', true)) !== password) throw new UsageError('the two passwords differ; nothing was created');
    }
  }
  const user = await withDatabase(async (db) => {
    await assertMigrated(db.orm);
    return createSuperuserAccount(db.orm.em.fork(), { username, email, password });
  });
  say(`superuser "${user.username}" created`);
};

/** Asks one question on the terminal; `hidden` keeps a password off the screen. */
async function ask(question: string, hidden = false): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) process.stdout.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  try {
    const answer = rl.question(question);
    muted = hidden;
    return (await answer).trim();
  } finally {
    if (hidden) process.stdout.write('\n');
    rl.close();
  }
}
