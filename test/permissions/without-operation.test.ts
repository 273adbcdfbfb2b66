import { Query, Resolver } from 'type-graphql';
import { CHECKS } from '../../src/checks';
import { LanguageResolver } from '../../src/core/language.resolver';
import { checkSchema, HasPermission } from '../../src/graphql/access';
import { buildDeclaredSchema, RESOLVERS } from '../../src/graphql/schema';
import { ALL_PERMISSIONS, isPermissionName } from '../../src/permissions/registry';
import { checkPermissionUse, PERMISSIONS_WITHOUT_OPERATION } from '../../src/permissions/without-operation';
import type { LogRecord } from '../support/logs';
import { startTestServer } from '../support/server';

const listed = Object.keys(PERMISSIONS_WITHOUT_OPERATION);
const everyPermissionBut = (...left: string[]) => new Set(ALL_PERMISSIONS.map((p) => p.fullName).filter((p) => !left.includes(p)));

describe('checkPermissionUse', () => {
  it('finds nothing when every permission is either required by an operation or listed as having none', () => {
    expect(checkPermissionUse(everyPermissionBut(...listed))).toEqual([]);
  });

  it('warns with gatehouse.permissions.W001 about a permission no operation requires that is not listed, naming it', () => {
    expect(checkPermissionUse(everyPermissionBut(...listed, 'core.delete_tweet'))).toEqual([
      {
        id: 'gatehouse.permissions.W001',
        level: 'warning',
        message: 'core.delete_tweet: no operation requires it',
        hint: CHECKS['gatehouse.permissions.W001'].hint,
      },
    ]);
  });

  it('warns with gatehouse.permissions.W002 about a listed permission that an operation requires, so the list cannot rot', () => {
    expect(checkPermissionUse(everyPermissionBut(...listed.filter((p) => p !== 'admin.change_logentry')))).toEqual([
      {
        id: 'gatehouse.permissions.W002',
        level: 'warning',
        message: 'admin.change_logentry: listed as having no operation, but an operation requires it',
        hint: CHECKS['gatehouse.permissions.W002'].hint,
      },
    ]);
  });

  it('lists only permissions the registry derives, each with a reason', () => {
    for (const [permission, reason] of Object.entries(PERMISSIONS_WITHOUT_OPERATION)) {
      expect({ permission, derived: isPermissionName(permission), reason: reason.length > 20 }).toEqual({
        permission,
        derived: true,
        reason: true,
      });
    }
  });

  it('finds nothing in the real schema: no error, no warning', async () => {
    expect(checkSchema(await buildDeclaredSchema())).toEqual([]);
  });
});

@Resolver()
class LogEditorResolver {
  @Query(() => String)
  @HasPermission('admin.change_logentry')
  editLog(): string {
    return 'edited';
  }
}

describe('startGatehouse with permission-use warnings', () => {
  it('starts and logs each warning once, with its id, naming the permission', async () => {
    // The service's own resolvers without the languages' operations and with one that edits the log.
    // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
    const resolvers = RESOLVERS as unknown as Function[];
    const at = resolvers.indexOf(LanguageResolver);
    resolvers.splice(at, 1, LogEditorResolver);
    let lines: LogRecord[] = [];
    try {
      const server = await startTestServer({ logs: true });
      await server.stop();
      lines = server.logs;
    } finally {
      resolvers.splice(at, 1, LanguageResolver);
    }
    const warnings = lines.filter((line) => line.check).map((line) => line.msg);
    // In the registry's order: admin before core.
    expect(warnings).toEqual([
      `[gatehouse.permissions.W002] admin.change_logentry: listed as having no operation, but an operation requires it; hint: ${CHECKS['gatehouse.permissions.W002'].hint}`,
      ...['add', 'change', 'delete', 'view'].map(
        (action) =>
          `[gatehouse.permissions.W001] core.${action}_language: no operation requires it; hint: ${CHECKS['gatehouse.permissions.W001'].hint}`,
      ),
    ]);
    expect(lines.filter((line) => line.check).every((line) => line.level === 40)).toBe(true);
  });
});
