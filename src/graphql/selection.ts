import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/**
 * True when the operation selects, below the current field, the path `path` and then any
 * field named in `leaves` (fragments and inline fragments included; @skip/@include ignored,
 * so at worst something is loaded that is not shown). Used to load what a page's fields will
 * need together with the page, instead of from each row's resolver.
 *
 * @example selects(info, ['edges', 'node'], ['groups', 'memberships'])
 */
export function selects(info: GraphQLResolveInfo, path: readonly string[], leaves: readonly string[]): boolean {
  let sets = info.fieldNodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : []));
  for (const name of path)
    sets = fieldsOf(sets, info).flatMap((field) => (field.name.value === name && field.selectionSet ? [field.selectionSet] : []));
  return fieldsOf(sets, info).some((field) => leaves.includes(field.name.value));
}

function fieldsOf(sets: readonly SelectionSetNode[], info: GraphQLResolveInfo, seen = new Set<string>()): FieldNode[] {
  const fields: FieldNode[] = [];
  for (const set of sets) {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) fields.push(selection);
      else if (selection.kind === Kind.INLINE_FRAGMENT) fields.push(...fieldsOf([selection.selectionSet], info, seen));
      else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = info.fragments[selection.name.value];
        if (fragment) fields.push(...fieldsOf([fragment.selectionSet], info, seen));
      }
    }
  }
  return fields;
}
