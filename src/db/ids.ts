import { badInput, notFound } from '../errors';

/*
 * The one reading of a GraphQL `ID` as a primary key. An ID names a row only in the form
 * Gatehouse hands it out — a canonical decimal within the integer column's range, or a UUID — so
 * anything else names nothing, and never reaches SQL (where `99999999999` would overflow an
 * integer column and an ill-formed UUID would fail to parse).
 */

const INTEGER_ID = /^[1-9][0-9]{0,9}$/;
const INT4_MAX = 2_147_483_647;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The integer key `value` names (a positive int4 written canonically: `7`, never `07` or `+7`), or null. */
export function integerId(value: string): number | null {
  if (!INTEGER_ID.test(value)) return null;
  const id = Number(value);
  return id <= INT4_MAX ? id : null;
}

/** The UUID key `value` names, lower-cased, or null. */
export function uuidId(value: string): string | null {
  return UUID.test(value) ? value.toLowerCase() : null;
}

/** An integer ID argument that must name a row; anything else is BAD_USER_INPUT naming `field`. */
export function parseId(value: string, field: string): number {
  const id = integerId(value);
  if (id === null) throw badInput(field, `"${value}" is not an id`);
  return id;
}

/** An integer ID of a row to change or delete: one that cannot exist is NOT_FOUND, as one that does not. */
export function existingId(value: string, what: string): number {
  const id = integerId(value);
  if (id === null) throw notFound(what, value);
  return id;
}
