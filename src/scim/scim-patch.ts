import { ScimError as PatchLibraryError, scimPatch, type ScimPatchOperation, type ScimResource } from 'scim-patch';
import { invalidSyntax, invalidValue, noTarget, ScimError } from './scim-errors';
import { PATCH_OP, resolvePath, type ResourceType } from './scim-schema';

/*
 * PATCH (RFC 7644 §3.5.2) through the scim-patch library: Gatehouse checks each operation
 * against its schema (scim-schema.ts), puts it in the form the library compares, lets the
 * library apply it to the resource's current attributes, and reads the result back like a PUT.
 * The forms identity providers send all arrive here:
 * - Okta: `{"op": "replace", "value": {"active": false}}` (no path, a value object), and
 *   `{"op": "remove", "path": "members[value eq \"<id>\"]"}`;
 * - Entra ID: capitalised ops (`"Replace"`, `"Add"`, `"Remove"`),
 *   `{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": "<id>"}]}`,
 *   `"path": "emails[type eq \"work\"].value"`.
 */

const OPS = new Set(['add', 'remove', 'replace']);

/** RFC 7643 §2.4: a member is named by its `value`; `$ref`, `display` and `type` say nothing more, so they are dropped before comparing. */
function memberValues(value: unknown, where: string): Array<{ value: string }> {
  const entries = Array.isArray(value) ? value : [value];
  return entries.map((entry, i) => {
    const id = entry !== null && typeof entry === 'object' ? (entry as Record<string, unknown>).value : undefined;
    if (typeof id !== 'string' || id === '') throw invalidValue(`${where}[${i}].value: must be the id of a member`);
    return { value: id };
  });
}

function normalise(type: ResourceType, raw: unknown, index: number): ScimPatchOperation {
  const where = `Operations[${index}]`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw invalidSyntax(`${where} must be an object`);
  const operation = raw as Record<string, unknown>;
  const op = typeof operation.op === 'string' ? operation.op.toLowerCase() : '';
  if (!OPS.has(op)) throw invalidSyntax(`${where}.op must be add, remove or replace`);
  const { path, value } = operation;
  if (path !== undefined && (typeof path !== 'string' || path.trim() === ''))
    throw invalidSyntax(`${where}.path must be a non-empty attribute path`);
  if (op !== 'remove' && !('value' in operation)) throw invalidSyntax(`${where}: ${op} needs a value`);

  if (typeof path === 'string') {
    const resolved = resolvePath(type, path);
    const isMembers = resolved.attribute.name === 'members' && resolved.subAttribute === null && resolved.filter === null;
    const normalised = isMembers && value !== undefined ? memberValues(value, `${where}.value`) : value;
    return (
      normalised === undefined ? { op, path: resolved.canonical } : { op, path: resolved.canonical, value: normalised }
    ) as ScimPatchOperation;
  }
  // RFC 7644 §3.5.2: without a path, only add and replace, whose value holds attributes.
  if (op === 'remove') throw noTarget(`${where}: remove needs a path`);
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalidSyntax(`${where}.value must be an object of attributes when there is no path`);
  const attributes: Record<string, unknown> = {};
  for (const [key, attributeValue] of Object.entries(value as Record<string, unknown>)) {
    let resolved;
    try {
      resolved = resolvePath(type, key);
    } catch (error) {
      // Like a PUT body: what Gatehouse does not keep or cannot change (id, meta, a password) is ignored.
      if (error instanceof ScimError && (error.scimType === 'invalidPath' || error.scimType === 'mutability')) continue;
      throw error;
    }
    attributes[resolved.canonical] =
      resolved.attribute.name === 'members' && resolved.subAttribute === null
        ? memberValues(attributeValue, `${where}.value.${key}`)
        : attributeValue;
  }
  return { op, value: attributes } as ScimPatchOperation;
}

/**
 * Applies a PATCH request body to `current` (the resource's writable attributes, multi-valued
 * ones as arrays, empty when unassigned) and returns the patched attributes, `current` untouched.
 *
 * @throws ScimError 400: invalidSyntax for a body that is not a PatchOp message (schemas,
 *   Operations) or an operation the library cannot apply; invalidPath / invalidFilter /
 *   mutability for a path (resolvePath); noTarget for a remove without a path or a replace
 *   whose filter matches nothing; invalidValue for a member without an id.
 */
export function applyPatch(type: ResourceType, current: Record<string, unknown>, body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalidSyntax('the body must be a PatchOp message');
  const { schemas, Operations } = body as Record<string, unknown>;
  if (!Array.isArray(schemas) || !schemas.includes(PATCH_OP)) throw invalidSyntax(`schemas must contain ${PATCH_OP}`);
  if (!Array.isArray(Operations) || Operations.length === 0) throw invalidSyntax('Operations must be a non-empty array');
  const operations = Operations.map((raw, i) => normalise(type, raw, i));
  const resource = { ...current, schemas: [], meta: {} } as unknown as ScimResource;
  let patched: ScimResource;
  try {
    patched = scimPatch(resource, operations, { mutateDocument: false, treatMissingAsAdd: true });
  } catch (error) {
    if (!(error instanceof PatchLibraryError)) throw error;
    const scimType = error.scimCode === 'noTarget' ? 'noTarget' : error.scimCode === 'invalidPath' ? 'invalidPath' : 'invalidSyntax';
    throw new ScimError(400, scimType, error.message);
  }
  const { schemas: _schemas, meta: _meta, ...attributes } = patched as unknown as Record<string, unknown>;
  return attributes;
}
