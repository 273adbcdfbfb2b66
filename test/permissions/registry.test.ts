import { MetadataStorage } from '@mikro-orm/core';
import { ENTITIES, MODEL_ENTITIES } from '../../src/db/entities';
import {
  ACTIONS,
  ALL_MODELS,
  ALL_PERMISSIONS,
  isPermissionName,
  MODELS,
  modelRef,
  permissionFor,
  type PermissionName,
} from '../../src/permissions/registry';

describe('the model registry', () => {
  it('registers the apps and models of the design: auth, admin, sso, core', () => {
    expect(ALL_MODELS.map((m) => `${m.appLabel}.${m.model}`)).toEqual([
      'auth.user',
      'auth.group',
      'auth.permission',
      'admin.logentry',
      'sso.groupmappingrule',
      'sso.identity',
      'sso.provisioningtoken',
      'core.tweet',
      'core.language',
    ]);
  });

  it('derives exactly four permissions per model: add, change, delete, view', () => {
    expect(ALL_PERMISSIONS).toHaveLength(ALL_MODELS.length * 4);
    for (const model of ALL_MODELS) {
      const own = ALL_PERMISSIONS.filter((p) => p.appLabel === model.appLabel && p.model === model.model);
      expect(own.map((p) => p.codename)).toEqual(ACTIONS.map((action) => `${action}_${model.model}`));
    }
  });

  it('names them as Django does: <app>.<action>_<model> and "Can <action> <verbose name>"', () => {
    const byName = new Map(ALL_PERMISSIONS.map((p) => [p.fullName, p]));
    expect(byName.get('admin.view_logentry')).toEqual({
      appLabel: 'admin',
      model: 'logentry',
      codename: 'view_logentry',
      name: 'Can view log entry',
      fullName: 'admin.view_logentry',
    });
    expect(byName.get('auth.add_user')?.name).toBe('Can add user');
    expect(byName.get('core.change_tweet')?.name).toBe('Can change tweet');
    expect(byName.get('sso.delete_groupmappingrule')?.name).toBe('Can delete group mapping rule');
    for (const p of ALL_PERMISSIONS) {
      expect(p.fullName).toBe(`${p.appLabel}.${p.codename}`);
      expect(p.name).toMatch(/^Can (add|change|delete|view) [a-z ]+$/);
    }
  });

  it('has no duplicate permission', () => {
    expect(new Set(ALL_PERMISSIONS.map((p) => p.fullName)).size).toBe(ALL_PERMISSIONS.length);
  });

  it('derives a permission from a model reference with permissionFor', () => {
    expect(permissionFor(modelRef('core', 'tweet'), 'change')).toBe('core.change_tweet');
    expect(permissionFor(modelRef('admin', 'logentry'), 'view')).toBe('admin.view_logentry');
  });

  it('makes a misspelt model or permission a compile error (the typecheck runs these lines)', () => {
    const neverRun = () => {
      // @ts-expect-error 'twet' is not a model of core
      modelRef('core', 'twet');
      // @ts-expect-error 'core.view_twet' is not a PermissionName
      const misspelt: PermissionName = 'core.view_twet';
      return misspelt;
    };
    expect(neverRun).toBeInstanceOf(Function);
  });

  describe('isPermissionName', () => {
    it('accepts every derived permission', () => {
      for (const p of ALL_PERMISSIONS) expect(isPermissionName(p.fullName)).toBe(true);
    });

    it.each([
      '',
      'view_tweet',
      'core.view_twee',
      'core.view_tweet ',
      'CORE.VIEW_TWEET',
      'core.publish_tweet',
      'auth.view_tweet',
      'core.view_tweet.extra',
      'core',
      'constructor',
      '__proto__',
    ])('refuses %j', (name) => {
      expect(isPermissionName(name)).toBe(false);
    });
  });
});

describe('MODEL_ENTITIES', () => {
  const key = (ref: { appLabel: string; model: string }) => `${ref.appLabel}.${ref.model}`;

  it('maps every registered model to an entity, and nothing else', () => {
    expect(MODEL_ENTITIES.map((m) => key(m.ref)).sort()).toEqual(ALL_MODELS.map(key).sort());
    expect(new Set(MODEL_ENTITIES.map((m) => key(m.ref))).size).toBe(MODEL_ENTITIES.length);
  });

  it('gives each model its own entity, each mapped by MikroORM', () => {
    const entities = MODEL_ENTITIES.map((m) => m.entity);
    expect(new Set(entities).size).toBe(entities.length);
    const mapped = new Set(Object.values(MetadataStorage.getMetadata()).map((meta) => meta.class));
    for (const entity of entities) {
      expect(ENTITIES).toContain(entity);
      expect(mapped.has(entity as never)).toBe(true);
    }
  });

  it('declares every app in MODELS', () => {
    expect(Object.keys(MODELS).sort()).toEqual(['admin', 'auth', 'core', 'sso']);
  });
});
