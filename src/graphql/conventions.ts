import { Field, ID, ObjectType } from 'type-graphql';
import { toGlobalId, type NodeType } from '../db/ids';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../db/keyset';

/*
 * The conventions every part of the schema follows, written once: what a removal answers, how
 * an update input reads `null`, and how the page arguments are described.
 */

/**
 * What every mutation that removes an object answers (`delete*`, `unlinkIdentity`,
 * `revokeSession`): the id the object had, which a client's cache evicts. A mutation that keeps
 * its object (`revokeProvisioningToken`: the token stays, revoked) answers the object instead,
 * as every change does; a bulk removal (`revokeUserSessions`, `revokeOtherSessions`) answers
 * how many it removed.
 */
@ObjectType({ description: 'What a mutation that removes an object answers.' })
export class DeletePayload {
  @Field(() => ID, { description: 'The global id the removed object had; no object has it any more.' })
  deletedId!: string;
}

/** The answer of a removal of the `type` object whose database key was `key`: its global id. */
export const deleted = (type: NodeType, key: string | number): DeletePayload => ({ deletedId: toGlobalId(type, key) });

/** `first`: the page size and its range, from the keyset module's bounds. */
export const FIRST_DESCRIPTION = `How many to return: 1 to ${MAX_PAGE_SIZE}; omitted: ${DEFAULT_PAGE_SIZE}. Anything else is BAD_USER_INPUT.`;

/** `after`: a cursor of the same list. */
export const AFTER_DESCRIPTION =
  'Return what follows this cursor: the `endCursor` (or an edge’s `cursor`) of a page of this same list; omitted: from the start.';

/**
 * The description of an update input: one meaning of `null` in every one of them. `clears`
 * names the fields `null` empties and says what it leaves (e.g. "`claim` (back to the groups
 * claim)"); every other field is refused as null (`refuseNulls`).
 */
export function updateInputDescription(what: string, clears?: string): string {
  return (
    `${what} An absent field keeps its value. ` +
    (clears
      ? `\`null\` clears ${clears}; \`null\` for any other field is BAD_USER_INPUT naming the field.`
      : 'No field can be emptied: `null` for any field is BAD_USER_INPUT naming the field.')
  );
}
