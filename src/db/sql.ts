/*
 * The few pieces of SQL text Gatehouse builds from values, each in one place. Values always
 * travel as parameters; these only shape what a parameter means.
 */

/** `text` as a LIKE/ILIKE pattern that matches it literally (`%`, `_` and `\` escaped). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** `%text%` for ILIKE, with the pattern characters of `text` taken literally. */
export function containsPattern(text: string): string {
  return `%${escapeLike(text)}%`;
}

/** Integer ids as a PostgreSQL array literal (for `?::int[]`): one statement text whatever the batch size. */
export function intArray(ids: readonly number[]): string {
  return `{${ids.map((id) => Math.trunc(id)).join(',')}}`;
}
