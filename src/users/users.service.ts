import type { EntityManager } from '@mikro-orm/postgresql';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { badInput, conflict } from '../errors';
import { hashPassword, MIN_PASSWORD_LENGTH } from './passwords';
import { User } from './user.entity';

// Django's UnicodeUsernameValidator: letters, digits and @ . + - _
const USERNAME = /^[\p{L}\p{N}@.+\-_]{1,150}$/u;
// The HTML living standard's e-mail grammar, as browsers validate <input type=email>.
const EMAIL = /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** Checks a username against Django's rules; throws BAD_USER_INPUT naming `field`. */
export function validateUsername(username: string, field = 'username'): string {
  if (!USERNAME.test(username)) throw badInput(field, 'must be 1-150 characters: letters, digits and @ . + - _ only');
  return username;
}

/** Checks an optional e-mail address (empty means none); throws BAD_USER_INPUT naming `field`. */
export function validateEmail(email: string, field = 'email'): string {
  const value = email.trim();
  if (value !== '' && (value.length > 254 || !EMAIL.test(value))) throw badInput(field, 'must be an e-mail address such as ada@example.com');
  return value;
}

/** Checks a new password; throws BAD_USER_INPUT naming `field`. */
export function validatePassword(password: string, field = 'password'): string {
  if (password.length < MIN_PASSWORD_LENGTH) throw badInput(field, `must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > 1024) throw badInput(field, 'must be at most 1024 characters');
  return password;
}

export interface NewSuperuser {
  username: string;
  email: string;
  password: string;
}

/**
 * Creates an active superuser (staff, with a usable password), as Django's
 * `createsuperuser`. A taken username is a CONFLICT; nothing is written on any error.
 */
export async function createSuperuser(em: EntityManager, input: NewSuperuser): Promise<User> {
  const username = validateUsername(input.username);
  const email = validateEmail(input.email);
  const password = await hashPassword(validatePassword(input.password));
  const taken = () => conflict('username', `the username "${username}" is already taken`);
  try {
    return await em.transactional(async (tx) => {
      if (await tx.count(User, { username })) throw taken();
      const user = tx.create(User, { username, email, password, isStaff: true, isSuperuser: true });
      await tx.flush();
      return user;
    });
  } catch (error) {
    // Two creations of the same name can both pass the count; the unique index decides.
    if (error instanceof UniqueConstraintViolationException) throw taken();
    throw error;
  }
}
