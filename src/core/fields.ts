import { badInput } from '../errors';

/*
 * Field validators for the core models, Django's form-field rules: text is stripped; a
 * required text must not be blank; lengths are the columns'. Each throws BAD_USER_INPUT
 * naming the field as the client sent it (`input.screenName`).
 */

/** A required text of at most `max` characters (after stripping). */
export function requiredText(value: string | null | undefined, field: string, max: number): string {
  if (value === null || value === undefined) throw badInput(field, 'is required');
  const text = value.trim();
  if (text === '') throw badInput(field, 'must not be blank');
  if (text.length > max) throw badInput(field, `must be at most ${max} characters`);
  return text;
}

/** An optional text of at most `max` characters; blank or null means none (null). */
export function optionalText(value: string | null | undefined, field: string, max: number): string | null {
  if (value === null || value === undefined) return null;
  const text = value.trim();
  if (text.length > max) throw badInput(field, `must be at most ${max} characters`);
  return text === '' ? null : text;
}

const INT64_MAX = 2n ** 63n - 1n;

/** A positive 64-bit integer given as a decimal string (it may exceed 2^53), normalised. */
export function positiveInt64(value: string | null | undefined, field: string): string {
  const text = value?.trim() ?? '';
  if (!/^[0-9]{1,19}$/.test(text)) throw badInput(field, 'must be a positive 64-bit integer, given as a decimal string');
  const number = BigInt(text);
  if (number < 1n || number > INT64_MAX) throw badInput(field, `must be between 1 and ${INT64_MAX}`);
  return number.toString();
}

/** A required date-time. */
export function requiredDate(value: Date | null | undefined, field: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw badInput(field, 'is required');
  return value;
}

/**
 * The values an update sets: every field the input carries (undefined = untouched) passed
 * through its validator; null reaches the validator, which refuses it for a required field.
 */
export function changesOf<I extends object, E>(input: I, validators: { [K in keyof I & keyof E]?: (value: I[K]) => E[K] }): Partial<E> {
  const changes: Partial<E> = {};
  for (const key of Object.keys(validators) as Array<keyof I & keyof E>) {
    if (input[key] !== undefined) changes[key] = validators[key]!(input[key]);
  }
  return changes;
}
