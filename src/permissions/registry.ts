/**
 * The model registry: every model Gatehouse manages, declared once with its app label and
 * model name. Everything permission-shaped is derived from this table — the permission rows
 * (see `sync.ts`), the `PermissionName` type that `@hasPermission` and `hasPerm` accept, the
 * permission catalogue and the denial-matrix tests — exactly as Django derives
 * `<app>.<action>_<model>` from each model's `_meta` in `create_permissions`.
 */
export const ACTIONS = ['add', 'change', 'delete', 'view'] as const;
export type Action = (typeof ACTIONS)[number];

export const MODELS = {
  auth: {
    user: { verboseName: 'user' },
    group: { verboseName: 'group' },
    permission: { verboseName: 'permission' },
  },
  admin: {
    logentry: { verboseName: 'log entry' },
  },
  sso: {
    groupmappingrule: { verboseName: 'group mapping rule' },
    identity: { verboseName: 'sso identity' },
    provisioningtoken: { verboseName: 'provisioning token' },
  },
  core: {
    tweet: { verboseName: 'tweet' },
    language: { verboseName: 'language' },
  },
} as const satisfies Record<string, Record<string, { verboseName: string }>>;

export type AppLabel = keyof typeof MODELS;
export type ModelName<A extends AppLabel = AppLabel> = A extends AppLabel ? keyof (typeof MODELS)[A] & string : never;

/** `auth.view_user`, `core.change_tweet`, … — a misspelt name does not compile. */
export type PermissionName = {
  [A in AppLabel]: `${A}.${Action}_${ModelName<A>}`;
}[AppLabel];

/** A registered model, as the rest of the code refers to it. */
export type ModelRef<A extends AppLabel = AppLabel> = A extends AppLabel
  ? { readonly appLabel: A; readonly model: ModelName<A>; readonly verboseName: string }
  : never;

/** One permission derived from the registry. */
export interface PermissionSpec {
  readonly appLabel: AppLabel;
  readonly model: string;
  readonly codename: string;
  readonly name: string;
  readonly fullName: PermissionName;
}

/** Returns the registered model `<app>.<model>`; the pair is checked at compile time. */
export function modelRef<A extends AppLabel>(appLabel: A, model: ModelName<A>): ModelRef<A> {
  const models = MODELS[appLabel] as Record<string, { verboseName: string }>;
  return { appLabel, model, verboseName: models[model].verboseName } as ModelRef<A>;
}

/**
 * The permission `<app>.<action>_<model>` of a registered model.
 *
 * @example permissionFor(modelRef('core', 'tweet'), 'change') // 'core.change_tweet'
 */
export function permissionFor<A extends AppLabel>(ref: ModelRef<A>, action: Action): PermissionName {
  return `${ref.appLabel}.${action}_${ref.model}` as PermissionName;
}

/** Every registered model, in declaration order. */
export const ALL_MODELS: readonly ModelRef[] = Object.entries(MODELS).flatMap(([appLabel, models]) =>
  Object.keys(models).map((model) => modelRef(appLabel as AppLabel, model as ModelName)),
);

/** Every permission the registry derives: four per model, Django's names ("Can view user"). */
export const ALL_PERMISSIONS: readonly PermissionSpec[] = ALL_MODELS.flatMap((ref) =>
  ACTIONS.map((action) => ({
    appLabel: ref.appLabel,
    model: ref.model,
    codename: `${action}_${ref.model}`,
    name: `Can ${action} ${ref.verboseName}`,
    fullName: permissionFor(ref, action),
  })),
);

const KNOWN = new Set<string>(ALL_PERMISSIONS.map((p) => p.fullName));

/** True when `name` is a permission the registry derives (narrowing a runtime string). */
export function isPermissionName(name: string): name is PermissionName {
  return KNOWN.has(name);
}
