import type { ApolloServerPlugin } from '@apollo/server';
import type { ASTNode, ASTVisitor, ValidationRule } from 'graphql';
import { recordValuePosition, RequestRefusal } from './errors';

/**
 * The longest string Gatehouse accepts anywhere in a request's input — an argument, an input
 * field, a variable, a string inside a JSON value — in characters (Unicode code points). The
 * longest legitimate value is a password (at most 1024) or a mapping rule's description (1000);
 * each field's own, tighter limit is checked by its domain service.
 */
export const MAX_INPUT_STRING_LENGTH = 4096;

// A lone UTF-16 surrogate: JSON can carry one ("\ud800"), UTF-8 cannot, and the database
// driver would store it as U+FFFD.
const LONE_SURROGATE = /\p{Cs}/u;

/** What is wrong with an input string, or null. */
export function stringProblem(value: string): string | null {
  // PostgreSQL cannot store U+0000 in text, and it ends C strings early in every tool after it.
  if (value.includes('\u0000')) return 'contains a NUL character (U+0000), which no string may contain';
  if (LONE_SURROGATE.test(value)) return 'is not valid Unicode (it contains a lone surrogate)';
  if (value.length > MAX_INPUT_STRING_LENGTH && [...value].length > MAX_INPUT_STRING_LENGTH)
    return `is longer than ${MAX_INPUT_STRING_LENGTH} characters`;
  return null;
}

type Position = { argument: string } | { variable: string };

/**
 * Validation rule over a document's literal values. It records where each value stands (the
 * argument, or the variable whose default it is), so that a value the schema's types refuse is
 * reported as BAD_USER_INPUT naming it (see errors.ts), and it refuses a string literal that
 * `stringProblem` refuses, naming its argument.
 */
export const InputValuesRule: ValidationRule = (context) => {
  const positions: Position[] = [];
  const record = (node: ASTNode) => {
    const position = positions.at(-1);
    if (position) recordValuePosition(node, position);
  };
  const visitor: ASTVisitor = {
    Argument: { enter: (node) => void positions.push({ argument: node.name.value }), leave: () => void positions.pop() },
    VariableDefinition: {
      enter: (node) => void positions.push({ variable: node.variable.name.value }),
      leave: () => void positions.pop(),
    },
    IntValue: record,
    FloatValue: record,
    BooleanValue: record,
    NullValue: record,
    EnumValue: record,
    ListValue: record,
    ObjectValue: record,
    ObjectField: record,
    StringValue(node) {
      record(node);
      const position = positions.at(-1);
      const problem = position ? stringProblem(node.value) : null;
      if (!position || !problem) return;
      const [name, details] =
        'argument' in position ? [`Argument "${position.argument}"`, position] : [`Variable "$${position.variable}"`, position];
      context.reportError(new RequestRefusal('BAD_USER_INPUT', `${name} has an invalid value: the string ${problem}`, details, node));
    },
  };
  return visitor;
};

/** The first string in `value` (a variable's JSON value, keys included) that `stringProblem` refuses, with its path. */
function firstBadString(value: unknown): { path: string; problem: string } | null {
  // Iterative: a deeply nested JSON value must not overflow the stack.
  const pending: Array<{ value: unknown; path: string }> = [{ value, path: '' }];
  while (pending.length > 0) {
    const { value: item, path } = pending.pop()!;
    if (typeof item === 'string') {
      const problem = stringProblem(item);
      if (problem) return { path, problem };
    } else if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i--) pending.push({ value: item[i], path: `${path}[${i}]` });
    } else if (item !== null && typeof item === 'object') {
      for (const [key, child] of Object.entries(item).reverse()) {
        const problem = stringProblem(key);
        if (problem) return { path: `${path}{key ${JSON.stringify(key.slice(0, 40))}}`, problem };
        pending.push({ value: child, path: `${path}.${key}` });
      }
    }
  }
  return null;
}

/**
 * Refuses a request whose variables hold a string that `stringProblem` refuses, before
 * anything runs: BAD_USER_INPUT naming the variable (and where in it), HTTP 400.
 */
export function inputVariablesPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, request }) {
          const variables = request.variables ?? {};
          for (const definition of operation?.variableDefinitions ?? []) {
            const name = definition.variable.name.value;
            if (!Object.hasOwn(variables, name)) continue;
            const bad = firstBadString(variables[name]);
            if (!bad) continue;
            const where = bad.path ? ` at "${name}${bad.path}"` : '';
            throw new RequestRefusal(
              'BAD_USER_INPUT',
              `Variable "$${name}" has an invalid value${where}: the string ${bad.problem}`,
              { variable: name },
              definition,
            );
          }
        },
      };
    },
  };
}
