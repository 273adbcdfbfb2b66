import { checkMessage, type CheckMessage } from '../checks';
import { ALL_PERMISSIONS, type PermissionName } from './registry';

/**
 * The permissions the registry derives that no operation requires, on purpose, each with the
 * reason. Like Django, the registry gives every model all four permissions, also to models
 * nobody edits by hand; this list says which of them stay unused. Any other permission that no
 * root field requires is a warning at start (`gatehouse.permissions.W001`) and fails the denial
 * matrix, which instead asserts that these indeed have no operation.
 */
export const PERMISSIONS_WITHOUT_OPERATION: Readonly<Partial<Record<PermissionName, string>>> = {
  'admin.add_logentry':
    'the admin log is written by Gatehouse itself, in the transaction of each change it records (as Django admin writes LogEntry); no one adds an entry',
  'admin.change_logentry': 'the admin log is an audit trail: an entry is never edited',
  'admin.delete_logentry': 'the admin log is an audit trail: no operation deletes entries (Gatehouse has no retention policy for it yet)',
  'auth.add_permission':
    'permissions are derived from the model registry and created by `gatehouse migrate` (Django’s create_permissions), never by hand',
  'auth.change_permission': 'a permission’s name follows its model in the registry, and `gatehouse migrate` keeps it current',
  'sso.delete_provisioningtoken':
    'a provisioning token is revoked (revokeProvisioningToken, sso.change_provisioningtoken), never deleted: the admin log keeps naming the token behind each change it made',
  'auth.delete_permission': 'permissions of models no longer registered are kept for their grants (see sync.ts); no operation deletes one',
  'sso.change_identity':
    'an identity is the (issuer, subject) pair the provider names a person by: it is linked (sso.add_identity) or unlinked (sso.delete_identity), never edited',
};

/**
 * The system checks of permission use, given the permissions that root fields require:
 * `gatehouse.permissions.W001` for each derived permission that none requires and that is not
 * in `withoutOperation`, `gatehouse.permissions.W002` for each listed one that some field requires.
 */
export function checkPermissionUse(
  used: ReadonlySet<string>,
  withoutOperation: Readonly<Partial<Record<PermissionName, string>>> = PERMISSIONS_WITHOUT_OPERATION,
): CheckMessage[] {
  const found: CheckMessage[] = [];
  for (const { fullName } of ALL_PERMISSIONS) {
    const listed = Object.hasOwn(withoutOperation, fullName);
    if (!used.has(fullName) && !listed) found.push(checkMessage('gatehouse.permissions.W001', `${fullName}: no operation requires it`));
    if (used.has(fullName) && listed)
      found.push(checkMessage('gatehouse.permissions.W002', `${fullName}: listed as having no operation, but an operation requires it`));
  }
  return found;
}
