import {
  CheckConstraintViolationException,
  ConstraintViolationException,
  NotNullConstraintViolationException,
  UniqueConstraintViolationException,
} from '@mikro-orm/core';
import { badInput, conflict, type GatehouseError } from '../errors';

/** The error a violated database constraint means, given the values that were being written. */
export type ConstraintErrors<E> = Readonly<Record<string, (attempt: Partial<E>) => GatehouseError>>;

/**
 * The one place database constraint violations become API errors: a violation of a constraint
 * the caller names becomes that error (e.g. CONFLICT naming `input.languageTag`); any other
 * constraint violation becomes a generic CONFLICT or BAD_USER_INPUT without the database's
 * text. Anything that is not a constraint violation is returned unchanged, to be masked as an
 * internal error by the GraphQL layer's `formatError`.
 */
export function translateDatabaseError<E>(error: unknown, constraints: ConstraintErrors<E> = {}, attempt: Partial<E> = {}): unknown {
  if (!(error instanceof ConstraintViolationException)) return error;
  const name = (error as ConstraintViolationException & { constraint?: string }).constraint;
  const known = name ? constraints[name] : undefined;
  if (known) return known(attempt);
  if (error instanceof UniqueConstraintViolationException) return conflict('input', 'a value of the input is already in use');
  if (error instanceof NotNullConstraintViolationException) {
    const column = (error as NotNullConstraintViolationException & { column?: string }).column;
    return badInput(column ? `input.${camelCase(column)}` : 'input', 'is required');
  }
  if (error instanceof CheckConstraintViolationException) return badInput('input', 'a value of the input is not allowed');
  return conflict('input', 'the change conflicts with other data');
}

const camelCase = (column: string) => column.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * Runs a database write (usually a transaction) and rethrows a violated constraint as the error
 * it means (`translateDatabaseError`): the database's own constraints decide races that a check
 * before the write cannot, e.g. two creations of the same username at once.
 *
 * @example
 *   await writing(() => em.transactional(…), { auth_user_username_unique: (a) => conflict('input.username', …) }, fields);
 */
export async function writing<T, E>(work: () => Promise<T>, constraints: ConstraintErrors<E> = {}, attempt: Partial<E> = {}): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw translateDatabaseError(error, constraints, attempt);
  }
}
