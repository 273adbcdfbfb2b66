import fc from 'fast-check';
import {
  getNamedType,
  isAbstractType,
  isCompositeType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLArgument,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';

/*
 * Random GraphQL requests generated from the schema with fast-check: mostly valid operations
 * (real fields, arguments of the right types, variables, aliases, fragments, @include/@skip), and
 * near-valid ones a client might send by mistake or on purpose (a wrong scalar, an unknown enum
 * value or field, a missing or mistyped variable, NUL characters, lone surrogates, huge integers,
 * over-long strings, a broken document). What the server must never do with any of them is fail:
 * every answer is data or a client-mistake error, never INTERNAL_SERVER_ERROR or HTTP 5xx.
 */

/** A request as it goes to POST /graphql. */
export interface GeneratedRequest {
  query: unknown;
  variables: unknown;
  operationName?: unknown;
}

export interface GenerationOptions {
  /** Ids of real rows, so that lookups and mutations reach rows and not only "not found". */
  ids: readonly string[];
  /** Strings worth trying where a String is asked for (permission names, patterns, usernames). */
  strings: readonly string[];
  /** Root fields never generated (they would end the caller's session, which the run relies on). */
  excludedRootFields: readonly string[];
}

/** An enum value in a literal (printed bare), or in a variable (as its name). */
class EnumLiteral {
  constructor(readonly name: string) {}
}

// Beyond Int's 32 bits and beyond what a double holds exactly; BigInt so that literals keep every digit.
const HUGE_INTEGERS = [2147483647n, 2147483648n, -2147483649n, 9007199254740993n, 10n ** 21n, -(10n ** 300n)];
const NASTY_STRINGS = ['', 'a\u0000b', '\u0000', '\ud800', 'x\udfffy', '%', '_', '\\', '"', '😀', 'ʃ\u200b', "'; select 1; --", '../..'];

type Gen = fc.GeneratorValue;

class Builder {
  private readonly definitions: string[] = [];
  readonly variables: Record<string, unknown> = {};
  readonly fragments: string[] = [];
  private directiveCount = 0;
  /** The fields selected so far, as `Type.field`. */
  private readonly selected = new Set<string>();
  private aliases = 0;

  constructor(
    private readonly g: Gen,
    private readonly schema: GraphQLSchema,
    private readonly options: GenerationOptions,
    /** Whether this request makes mistakes; one that does not is valid against the schema. */
    private readonly careless: boolean,
  ) {}

  chance(percent: number): boolean {
    return this.g(fc.integer, { min: 0, max: 99 }) < percent;
  }

  /** A mistake with `percent` chance, in a careless request only. */
  mistake(percent: number): boolean {
    return this.careless && this.chance(percent);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.g(fc.integer, { min: 0, max: items.length - 1 })];
  }

  /** A variable holding `value`, declared as `type` (or, now and then, as another type or not given at all). */
  variable(type: string, value: unknown): string {
    const name = `v${this.definitions.length}`;
    const declared = this.mistake(5) ? this.pick(['String', 'Int!', 'Boolean', '[ID!]!', 'NoSuchType', 'JSON']) : type;
    this.definitions.push(`$${name}: ${declared}`);
    if (!this.mistake(4)) this.variables[name] = toJson(value);
    return `$${name}`;
  }

  header(): string {
    return this.definitions.length ? `(${this.definitions.join(', ')})` : '';
  }

  directive(): string {
    if (this.directiveCount > 20 || !this.chance(12)) return '';
    this.directiveCount++;
    const name = this.mistake(30) ? this.pick(['deprecated', 'nosuchdirective', 'specifiedBy']) : this.pick(['include', 'skip']);
    const condition = this.chance(30)
      ? this.variable(this.mistake(15) ? 'Boolean' : 'Boolean!', this.g(fc.boolean))
      : String(this.g(fc.boolean));
    return ` @${name}(if: ${this.mistake(5) ? '"yes"' : condition})`;
  }

  /** A value of `type`: valid most of the time, otherwise one a careless client would send. */
  value(type: GraphQLInputType, depth = 0, nullable = true): unknown {
    if (this.mistake(12)) return this.nearValid(type);
    if (isNonNullType(type)) return this.value(type.ofType, depth, false);
    if (nullable && this.chance(3)) return null;
    if (isListType(type)) {
      const length = this.g(fc.integer, { min: 0, max: 3 });
      return Array.from({ length }, () => this.value(type.ofType, depth + 1));
    }
    if (isEnumType(type)) return new EnumLiteral(this.pick(type.getValues()).name);
    if (isInputObjectType(type)) {
      const object: Record<string, unknown> = {};
      for (const field of Object.values(type.getFields())) {
        const required = isNonNullType(field.type) && field.defaultValue === undefined;
        if (required ? !this.mistake(5) : this.chance(50) && depth < 3) object[field.name] = this.value(field.type, depth + 1);
      }
      if (this.mistake(5)) object.noSuchField = 1;
      return object;
    }
    return this.scalar(type.name);
  }

  scalar(name: string): unknown {
    switch (name) {
      case 'Int':
        return this.careless
          ? this.chance(80)
            ? this.g(fc.integer, { min: -3, max: 600 })
            : this.g(fc.integer)
          : this.g(fc.integer, { min: 1, max: 20 });
      case 'Float':
        return this.g(fc.double, { noNaN: true, noDefaultInfinity: true });
      case 'Boolean':
        return this.g(fc.boolean);
      case 'ID':
        return this.chance(70) && this.options.ids.length
          ? this.pick(this.options.ids)
          : this.pick(['1', '0', '-1', 'abc', '99999999999999999999', '']);
      case 'DateTimeISO':
        return !this.mistake(20)
          ? this.g(fc.date, { noInvalidDate: true, min: new Date(0), max: new Date('2100-01-01') }).toISOString()
          : this.pick(['yesterday', '2026-13-45T00:00:00Z', '2026-11-29 15:30:15.807+00']);
      case 'JSON':
        return this.g(fc.jsonValue, { maxDepth: 3 });
      default:
        return this.chance(40) && this.options.strings.length
          ? this.pick(this.options.strings)
          : this.g(fc.string, { maxLength: 24, unit: this.chance(30) ? 'binary' : 'grapheme-ascii' });
    }
  }

  /** A value of the wrong kind for `type`, or at its edges. */
  nearValid(type: GraphQLInputType): unknown {
    const named = getNamedType(type);
    return this.pick<() => unknown>([
      () => null,
      () => this.pick(HUGE_INTEGERS),
      () => this.pick(NASTY_STRINGS),
      () => 'x'.repeat(this.pick([4096, 4097, 20000])),
      () => this.g(fc.boolean),
      () => 1.5,
      () => ({ noSuchField: [1, 'two'] }),
      () => [this.pick(NASTY_STRINGS), 7],
      () => new EnumLiteral(this.pick(['NOPE', 'true', 'null', 'EXACT', 'ADDITION'])),
      () => (isScalarType(named) ? this.scalar(this.pick(['Int', 'String', 'Boolean', 'ID', 'JSON'])) : this.pick(NASTY_STRINGS)),
    ])();
  }

  /** The arguments of `field`, as literals or variables; now and then one too few or one unknown. */
  arguments(field: GraphQLField<unknown, unknown>): string {
    const given: string[] = [];
    for (const arg of field.args as GraphQLArgument[]) {
      const required = isNonNullType(arg.type) && arg.defaultValue === undefined;
      if (!(required ? !this.mistake(4) : this.chance(45))) continue;
      const value = this.value(arg.type);
      given.push(`${arg.name}: ${this.chance(30) ? this.variable(arg.type.toString(), value) : printLiteral(value)}`);
    }
    if (this.mistake(4)) given.push(`noSuchArgument: ${printLiteral(this.scalar('String'))}`);
    return given.length ? `(${given.join(', ')})` : '';
  }

  /** A selection set on `type`, at most `depth` levels deep. */
  selection(type: GraphQLCompositeType, depth: number): string {
    const parts: string[] = [];
    const count = this.g(fc.integer, { min: 1, max: 3 });
    for (let i = 0; i < count; i++) {
      const roll = this.g(fc.integer, { min: 0, max: 99 });
      if (roll < 4 && this.careless) parts.push(`noSuchField${i}`);
      else if (roll < 8) parts.push(`__typename${this.directive()}`);
      else if (roll < 14) parts.push(this.fragment(type, depth));
      else parts.push(this.field(type, depth));
    }
    return parts.join(' ');
  }

  private fragment(type: GraphQLCompositeType, depth: number): string {
    const on = isAbstractType(type)
      ? this.pick(this.schema.getPossibleTypes(type))
      : !this.mistake(10)
        ? type
        : this.pick(this.objectTypes());
    const body = this.selection(on, depth);
    if (this.chance(50)) return `... on ${on.name}${this.directive()} { ${body} }`;
    const name = `F${this.fragments.length}`;
    this.fragments.push(`fragment ${name} on ${on.name} { ${body} }`);
    return `...${name}${this.directive()}`;
  }

  private field(type: GraphQLCompositeType, depth: number): string {
    if (!isObjectType(type) && isAbstractType(type)) return this.fragment(type, depth);
    const fields = Object.values((type as GraphQLObjectType).getFields()).filter(
      (f) =>
        !(type === this.schema.getQueryType() || type === this.schema.getMutationType()) ||
        !this.options.excludedRootFields.includes(f.name),
    );
    if (!fields.length) return '__typename';
    const field = this.pick(fields);
    const args = this.arguments(field);
    // Two selections of one field with other arguments conflict unless aliased apart: a careful
    // client gives them names of their own, a careless one may not (or reuses one).
    const coordinate = `${type.name}.${field.name}`;
    const repeated = this.selected.has(coordinate);
    this.selected.add(coordinate);
    const alias = this.careless
      ? this.chance(15)
        ? `${this.pick(['a', 'b', 'same'])}${this.g(fc.integer, { min: 0, max: 3 })}: `
        : ''
      : repeated || this.chance(10)
        ? `f${++this.aliases}: `
        : '';
    const named = getNamedType(field.type);
    let sub = '';
    if (isCompositeType(named)) {
      if (!this.mistake(3)) sub = depth > 0 ? ` { ${this.selection(named, depth - 1)} }` : ' { __typename }';
    } else if (isLeafType(named) && this.mistake(2)) sub = ' { id }';
    return `${alias}${field.name}${args}${this.directive()}${sub}`;
  }

  private objectTypes(): GraphQLObjectType[] {
    return Object.values(this.schema.getTypeMap()).filter((t): t is GraphQLObjectType => isObjectType(t) && !t.name.startsWith('__'));
  }
}

/** A GraphQL literal for `value` (enum values bare, strings JSON-escaped, which GraphQL reads alike). */
export function printLiteral(value: unknown): string {
  if (value instanceof EnumLiteral) return value.name;
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(printLiteral).join(', ')}]`;
  if (typeof value === 'object')
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([key, item]) => `${/^[_A-Za-z][_0-9A-Za-z]*$/.test(key) ? key : 'badKey'}: ${printLiteral(item)}`)
      .join(', ')}}`;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value).toString() : String(value);
  return JSON.stringify(value);
}

function toJson(value: unknown): unknown {
  if (value instanceof EnumLiteral) return value.name;
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(toJson);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toJson(item)]));
  return value;
}

/** Damages a document now and then as a broken client would: a cut, a stray character, a NUL. */
function damage(g: Gen, query: string): string {
  const at = g(fc.integer, { min: 0, max: Math.max(0, query.length - 1) });
  const how = g(fc.integer, { min: 0, max: 4 });
  if (how === 0) return query.slice(0, at);
  if (how === 1) return `${query.slice(0, at)}\u0000${query.slice(at)}`;
  if (how === 2) return `${query.slice(0, at)}${g(fc.constantFrom, '{', '}', '(', '$', '@', '...', '"', '#', '!')}${query.slice(at)}`;
  if (how === 3) return `${query} ${query}`;
  return query.replace(/\b(query|mutation)\b/, 'subscription');
}

/** Requests generated from `schema`. */
export function requestArbitrary(schema: GraphQLSchema, options: GenerationOptions): fc.Arbitrary<GeneratedRequest> {
  return fc.gen().map((g) => {
    // Half the requests are valid against the schema, half make mistakes a client might.
    const b = new Builder(g, schema, options, g(fc.boolean));
    const mutation = schema.getMutationType();
    const root = mutation && b.chance(30) ? mutation : schema.getQueryType()!;
    const selection = b.selection(root, g(fc.integer, { min: 0, max: 4 }));
    const keyword = root === mutation ? 'mutation' : 'query';
    const name = b.chance(70) ? 'Fuzz' : '';
    let query = [`${keyword}${name ? ` ${name}` : ''}${b.header()} { ${selection} }`, ...b.fragments].join('\n');
    if (b.mistake(8)) query = damage(g, query);
    const operationName = name && !b.mistake(10) ? name : b.mistake(20) ? 'Nope' : undefined;
    const request: GeneratedRequest = { query, variables: b.variables, ...(operationName ? { operationName } : {}) };
    // Now and then the envelope itself is wrong: a member of the wrong JSON type.
    if (b.mistake(4)) {
      const member = b.pick(['query', 'variables', 'operationName'] as const);
      request[member] = b.pick<unknown>([null, 42, true, [], [query], {}, 'text', { query }]);
    }
    return request;
  });
}
