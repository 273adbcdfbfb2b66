/**
 * The closed set of failures a Gatehouse operation reports. Domain services throw these;
 * the GraphQL layer and the command-line tool turn them into `extensions.code` or one line
 * on stderr. Anything else is an internal error and is masked.
 */
export type ErrorCode = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'BAD_USER_INPUT' | 'NOT_FOUND' | 'CONFLICT';

export class GatehouseError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'GatehouseError';
  }
}

/** Input that cannot be accepted; `field` names it (e.g. `username`, `input.email`). */
export const badInput = (field: string, message: string) => new GatehouseError('BAD_USER_INPUT', `${field}: ${message}`, { field });

/** A uniqueness rule would be broken; `field` names the value that is taken. */
export const conflict = (field: string, message: string) => new GatehouseError('CONFLICT', message, { field });

export const notFound = (what: string, id: string | number) =>
  new GatehouseError('NOT_FOUND', `${what} ${id} does not exist`, { id: String(id) });

/** A list of names or ids that do not exist: BAD_USER_INPUT naming the argument and each unknown value. */
export function unknownValues(field: string, what: string, unknown: ReadonlyArray<string | number>): GatehouseError {
  return new GatehouseError('BAD_USER_INPUT', `${field}: no ${what} ${unknown.map((v) => JSON.stringify(String(v))).join(', ')}`, {
    field,
    unknown: unknown.map(String),
  });
}

/**
 * Refuses `null` for the fields of an update input that cannot be cleared (`prefix.field`
 * BAD_USER_INPUT). In every update input an absent field keeps its value and `null` clears a
 * field that can be empty; for any other field `null` is a mistake, never "keep".
 *
 * @example refuseNulls(input, ['name']) // { name: null } → "input.name: cannot be null; omit it to keep the value"
 */
export function refuseNulls<I extends object>(input: I, fields: ReadonlyArray<keyof I & string>, prefix = 'input'): void {
  for (const field of fields) {
    if (input[field] === null) throw badInput(`${prefix}.${field}`, 'cannot be null; omit it to keep the value');
  }
}
