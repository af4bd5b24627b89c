/**
 * Cost control before execution (README, "Limits"): every operation, `_entities` and introspection
 * included, anonymous or not, is measured before a resolver runs, and refused as QUERY_TOO_COMPLEX
 * with the measured figure and the limit in the message.
 *
 * - tokens: graphql-js's own `maxTokens` parse option (`parseOptions` of the server);
 * - depth, aliases, directives: graphql-armor's validation rules;
 * - estimated cost and `_entities` representations: graphql-query-complexity, with variables, in
 *   `didResolveOperation` (validated documents are cached; the cost depends on the variables).
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import {
  GraphQLError,
  GraphQLUnionType,
  isEnumType,
  isListType,
  getNamedType,
  getNullableType,
  type GraphQLField,
  type GraphQLSchema,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
import type { QueryLimits } from '../config.js';
import { AppError } from '../errors/app-error.js';
import { CONNECTOR_PAGE_MAX } from '../modules/connectors/connector.service.js';
import { checkInput } from './input-guard.js';

/** The environment variable that sets each limit, named in refusals so an operator knows what to raise. */
const SETTING = {
  maxDepth: 'MAX_QUERY_DEPTH',
  maxAliases: 'MAX_QUERY_ALIASES',
  maxTokens: 'MAX_QUERY_TOKENS',
  maxDirectives: 'MAX_QUERY_DIRECTIVES',
  maxCost: 'MAX_QUERY_COST',
  maxRepresentations: 'MAX_ENTITY_REPRESENTATIONS',
} as const satisfies Record<keyof QueryLimits, string>;

export function tooComplex(what: string, measured: number | string, limit: keyof QueryLimits, limits: QueryLimits): AppError {
  return new AppError('QUERY_TOO_COMPLEX', `the query is too complex: ${what} is ${measured}, the limit is ${limits[limit]} (${SETTING[limit]})`, {
    measured,
    limit: limits[limit],
  });
}

/** graphql-armor reports "… limit of N exceeded, found M."; the figure is taken from there. */
function armorRule(rule: (options: object) => (context: ValidationContext) => unknown, what: string, limit: keyof QueryLimits, limits: QueryLimits): ValidationRule {
  return (context) => {
    const onReject = [
      (_ctx: ValidationContext | null, error: GraphQLError) => {
        const found = /found (\d+)/.exec(error.message)?.[1] ?? 'over the limit';
        context.reportError(tooComplex(what, found, limit, limits));
      },
    ];
    const options = { n: limits[limit], exposeLimits: true, propagateOnRejection: false, onReject };
    return rule(what === 'the depth' ? { ...options, flattenFragments: true, ignoreIntrospection: false } : options)(context) as ReturnType<ValidationRule>;
  };
}

/** Depth, aliases and directives, as validation rules (they need no variables). */
export function queryLimitRules(limits: QueryLimits): ValidationRule[] {
  return [
    armorRule(maxDepthRule as never, 'the depth', 'maxDepth', limits),
    armorRule(maxAliasesRule as never, 'the number of aliases', 'maxAliases', limits),
    armorRule(maxDirectivesRule as never, 'the number of directives', 'maxDirectives', limits),
  ];
}

/** graphql-js's parse error for `maxTokens`, turned into QUERY_TOO_COMPLEX by the error formatter. */
// graphql 16 spells it "more that N tokens".
const TOKENS_EXCEEDED = /^Syntax Error: Document contains more (?:than|that) (\d+) tokens/;

/** graphql-js's own rule against deep introspection (part of its specified rules). */
const INTROSPECTION_DEPTH = /^Maximum introspection depth exceeded/;

/** graphql-js's own refusals that are about size, as QUERY_TOO_COMPLEX; null for anything else. */
export function builtInLimitError(message: string, limits: QueryLimits): AppError | null {
  const tokens = TOKENS_EXCEEDED.exec(message);
  if (tokens) return tooComplex('the number of tokens', `more than ${tokens[1]}`, 'maxTokens', limits);
  if (INTROSPECTION_DEPTH.test(message)) {
    return new AppError('QUERY_TOO_COMPLEX', 'the query is too complex: introspection nests fields, interfaces or possibleTypes more than 3 levels deep (graphql-js limit)');
  }
  return null;
}

/** Introspection lists have no page size: they are as long as the schema makes them, on average. */
function introspectionListSizes(schema: GraphQLSchema): Map<string, number> {
  const types = Object.values(schema.getTypeMap());
  const mean = (counts: number[]) => Math.max(1, Math.ceil(counts.reduce((a, b) => a + b, 0) / Math.max(1, counts.length)));
  const withFields = types.filter((t) => 'getFields' in t) as Array<{ getFields(): Record<string, GraphQLField<unknown, unknown>> }>;
  const fields = withFields.map((t) => Object.values(t.getFields()));
  const directives = schema.getDirectives();
  return new Map([
    ['__Schema.types', types.length],
    ['__Schema.directives', directives.length],
    ['__Type.fields', mean(fields.map((f) => f.length))],
    ['__Type.inputFields', mean(fields.map((f) => f.length))],
    ['__Type.enumValues', mean(types.filter(isEnumType).map((t) => t.getValues().length))],
    ['__Type.interfaces', 2],
    ['__Type.possibleTypes', mean(types.filter((t) => t instanceof GraphQLUnionType).map((t) => (t as GraphQLUnionType).getTypes().length))],
    ['__Field.args', mean(fields.flat().map((f) => (f.args ?? []).length))],
    ['__Directive.args', mean(directives.map((d) => d.args.length))],
    ['__Directive.locations', 4],
  ]);
}

const MAX_ID_LENGTH = 200;
/** The largest page any paged field serves. */
const LARGEST_PAGE = CONNECTOR_PAGE_MAX;

/**
 * Representations must name an entity type of this subgraph and carry its key; anything else is
 * the caller's mistake, answered before any SQL runs.
 */
function checkRepresentations(value: unknown, entityTypes: Set<string>, limits: QueryLimits): number {
  if (!Array.isArray(value)) return 1;
  if (value.length > limits.maxRepresentations) throw tooComplex('the number of _entities representations', value.length, 'maxRepresentations', limits);
  value.forEach((rep, i) => {
    const typename = (rep as { __typename?: unknown })?.__typename;
    const id = (rep as { id?: unknown })?.id;
    if (typeof typename !== 'string' || !entityTypes.has(typename)) {
      throw AppError.badInput(`representations[${i}].__typename must be one of ${[...entityTypes].join(', ')}`, [
        { path: `representations.${i}.__typename`, message: `must be one of ${[...entityTypes].join(', ')}` },
      ]);
    }
    if (typeof id !== 'string' || !id || id.length > MAX_ID_LENGTH) {
      throw AppError.badInput(`representations[${i}].id must be a non-empty string of at most ${MAX_ID_LENGTH} characters`, [
        { path: `representations.${i}.id`, message: 'is required' },
      ]);
    }
  });
  return value.length;
}

/**
 * Each field costs 1 plus its children; a paged field multiplies its children by `first` (or
 * `last`; the default applies when omitted), `_entities` by its representations, an introspection
 * list by its mean length in this schema. Introspection leaves cost nothing.
 */
function costEstimator(schema: GraphQLSchema, limits: QueryLimits): ComplexityEstimator {
  const introspection = introspectionListSizes(schema);
  const entityType = schema.getType('_Entity');
  const entityTypes = new Set(entityType instanceof GraphQLUnionType ? entityType.getTypes().map((t) => t.name) : []);
  return ({ type, field, args, childComplexity }) => {
    // Introspection answers from memory: its objects count, its names and descriptions do not.
    if (type.name.startsWith('__') && childComplexity === 0) return 0;
    let times = 1;
    if (type.name === 'Query' && field.name === '_entities') times = checkRepresentations(args.representations, entityTypes, limits);
    // No field serves a larger page; a larger `first` is refused by the field itself, more precisely.
    else if (typeof args.first === 'number' || typeof args.last === 'number') times = Math.min(LARGEST_PAGE, Math.max(0, Number(args.first ?? args.last)));
    else if (Array.isArray(args.lines)) times = args.lines.length;
    else if (isListType(getNullableType(field.type)) && getNamedType(field.type).name.startsWith('__')) times = introspection.get(`${type.name}.${field.name}`) ?? 1;
    return 1 + childComplexity * times;
  };
}

/** The estimated cost of each request that passed the limits, for admission (admission.ts). */
const costs = new WeakMap<object, number>();

export function estimatedCost(requestContext: object): number | undefined {
  return costs.get(requestContext);
}

/**
 * The per-request checks that need the variables: no subscriptions (this subgraph has none), input
 * strings PostgreSQL can store, and the estimated cost with the `_entities` representations.
 */
export function queryLimitsPlugin(limits: QueryLimits): ApolloServerPlugin {
  let estimator: { schema: GraphQLSchema; estimate: ComplexityEstimator } | undefined;
  return {
    async requestDidStart() {
      return {
        async didResolveOperation(requestContext) {
          const { schema, document, operation, operationName, request } = requestContext;
          if (operation?.operation === 'subscription') {
            throw AppError.badInput('this subgraph has no subscriptions: send a query or a mutation');
          }
          checkInput(document, request.variables);
          if (estimator?.schema !== schema) estimator = { schema, estimate: costEstimator(schema, limits) };
          let cost: number;
          try {
            cost = getComplexity({ schema, query: document, variables: request.variables ?? {}, operationName: operationName ?? undefined, estimators: [estimator.estimate] });
          } catch (error) {
            if (error instanceof AppError) throw error;
            // Variables that do not coerce: execution would refuse them too, with this message.
            throw AppError.badInput(error instanceof Error ? error.message : 'the variables are not valid');
          }
          if (cost > limits.maxCost) throw tooComplex('the estimated cost', cost, 'maxCost', limits);
          costs.set(requestContext, cost);
        },
      };
    },
  };
}
