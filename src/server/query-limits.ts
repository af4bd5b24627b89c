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
import { HeaderMap, type ApolloServerPlugin, type BaseContext, type GraphQLRequestContextDidResolveOperation } from '@apollo/server';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import {
  GraphQLError,
  GraphQLUnionType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isObjectType,
  getNamedType,
  getNullableType,
  Kind,
  visit,
  type DocumentNode,
  type GraphQLObjectType,
  type OperationDefinitionNode,
  type GraphQLSchema,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
import type { QueryLimits } from '../config.js';
import { DEFAULT_PAGE_SIZE } from '../context/cursors.js';
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
function armorRule(rule: (options: object) => (context: ValidationContext) => unknown, what: string, limit: keyof QueryLimits, limits: QueryLimits, extra: object = {}): ValidationRule {
  return (context) => {
    const onReject = [
      (_ctx: ValidationContext | null, error: GraphQLError) => {
        const found = /found (\d+)/.exec(error.message)?.[1] ?? 'over the limit';
        context.reportError(tooComplex(what, found, limit, limits));
      },
    ];
    return rule({ n: limits[limit], exposeLimits: true, propagateOnRejection: false, onReject, ...extra })(context) as ReturnType<ValidationRule>;
  };
}

/** Depth, aliases and directives, as validation rules (they need no variables). */
export function queryLimitRules(limits: QueryLimits): ValidationRule[] {
  return [
    // Fragments count by what they select; introspection is no exception.
    armorRule(maxDepthRule as never, 'the depth', 'maxDepth', limits, { flattenFragments: true, ignoreIntrospection: false }),
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

/**
 * Introspection lists have no page size: they are as long as the schema makes them. Each counts as
 * its average over every object it can hang on (a `__Type`'s fields over all types, scalars
 * included), which is what a query walking the whole schema meets.
 */
function introspectionListSizes(schema: GraphQLSchema): Map<string, number> {
  const types = Object.values(schema.getTypeMap());
  const average = (total: number, over: number) => Math.max(1, Math.ceil(total / Math.max(1, over)));
  const sum = (counts: number[]) => counts.reduce((a, b) => a + b, 0);
  const outputFields = types.filter((t) => isObjectType(t) || isInterfaceType(t)).flatMap((t) => Object.values((t as GraphQLObjectType).getFields()));
  const directives = schema.getDirectives();
  return new Map([
    ['__Schema.types', types.length],
    ['__Schema.directives', directives.length],
    ['__Type.fields', average(outputFields.length, types.length)],
    ['__Type.inputFields', average(sum(types.filter(isInputObjectType).map((t) => Object.keys(t.getFields()).length)), types.length)],
    ['__Type.enumValues', average(sum(types.filter(isEnumType).map((t) => t.getValues().length)), types.length)],
    ['__Type.interfaces', average(sum(types.filter((t) => isObjectType(t) || isInterfaceType(t)).map((t) => (t as GraphQLObjectType).getInterfaces().length)), types.length)],
    ['__Type.possibleTypes', average(sum(types.filter((t) => t instanceof GraphQLUnionType).map((t) => (t as GraphQLUnionType).getTypes().length)), types.length)],
    ['__Field.args', average(sum(outputFields.map((f) => f.args.length)), outputFields.length)],
    ['__Directive.args', average(sum(directives.map((d) => d.args.length)), directives.length)],
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

/** Per operation: `_entities` representations summed over every alias. */
interface CostContext {
  representations: number;
}

/**
 * A leaf costs 1 (an introspection leaf, a name or a description, 0); any other field 1 plus its
 * selection (for our types at least 1, even when every child is skipped) times: `first` or `last` of a paged field
 * (its default when omitted; at least 1, since a page of 0 still runs its statement; at most the
 * largest page any field serves), the representations of `_entities`, the lines of
 * `previewNormalization`, or an introspection list's mean length in this schema.
 */
function costEstimator(schema: GraphQLSchema, limits: QueryLimits): ComplexityEstimator {
  const introspection = introspectionListSizes(schema);
  const entityTypes = entityTypesOf(schema);
  return ({ type, field, args, childComplexity, context }) => {
    if (isLeafType(getNamedType(field.type))) return type.name.startsWith('__') ? 0 : 1;
    let times = 1;
    if (type.name === 'Query' && field.name === '_entities') {
      times = checkRepresentations(args.representations, entityTypes, limits);
      const budget = context as CostContext;
      budget.representations += times;
      if (budget.representations > limits.maxRepresentations) {
        throw tooComplex('the number of _entities representations', budget.representations, 'maxRepresentations', limits);
      }
    }
    // No field serves a larger page; a larger `first` is refused by the field itself, more precisely.
    else if (typeof args.first === 'number' || typeof args.last === 'number') times = Math.min(LARGEST_PAGE, Math.max(1, Number(args.first ?? args.last)));
    // A paged field read with neither (and no schema default): the page the resolver then reads.
    else if (field.args.some((a) => a.name === 'first')) times = DEFAULT_PAGE_SIZE;
    else if (Array.isArray(args.lines)) times = Math.max(1, args.lines.length);
    else if (isListType(getNullableType(field.type)) && getNamedType(field.type).name.startsWith('__')) times = introspection.get(`${type.name}.${field.name}`) ?? 1;
    // Introspection objects cost what they select (their leaves nothing); ours at least 1 each.
    return 1 + times * (getNamedType(field.type).name.startsWith('__') ? childComplexity : Math.max(1, childComplexity));
  };
}

function entityTypesOf(schema: GraphQLSchema): Set<string> {
  const entityType = schema.getType('_Entity');
  return new Set(entityType instanceof GraphQLUnionType ? entityType.getTypes().map((t) => t.name) : []);
}

/**
 * The operation's variables when each is used only as the `representations` of a root `_entities`
 * field (no variables: an empty list); null when any variable is used anywhere else. Per operation node.
 */
function entityOnlyVariables(operation: OperationDefinitionNode): string[] | null {
  let names = entityVariables.get(operation);
  if (names === undefined) {
    const declared = (operation.variableDefinitions ?? []).map((d) => d.variable.name.value);
    const asRepresentations = new Set<string>();
    for (const selection of operation.selectionSet.selections) {
      if (selection.kind !== Kind.FIELD || selection.name.value !== '_entities') continue;
      for (const arg of selection.arguments ?? []) if (arg.name.value === 'representations' && arg.value.kind === Kind.VARIABLE) asRepresentations.add(arg.value.name.value);
    }
    // Every use of each variable, anywhere in the operation, must be one of those arguments.
    let uses = 0;
    visit(operation, { Variable: () => void uses++ });
    const expected = declared.length + [...operation.selectionSet.selections].reduce(
      (n, s) => n + (s.kind === Kind.FIELD && s.name.value === '_entities' ? (s.arguments ?? []).filter((a) => a.name.value === 'representations' && a.value.kind === Kind.VARIABLE).length : 0),
      0,
    );
    names = declared.every((name) => asRepresentations.has(name)) && uses === expected ? declared : null;
    entityVariables.set(operation, names);
  }
  return names;
}

const entityVariables = new WeakMap<OperationDefinitionNode, string[] | null>();

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
  const knownCosts = new WeakMap<DocumentNode, Map<string, number>>();
  let estimator: { schema: GraphQLSchema; estimate: ComplexityEstimator; entityTypes: Set<string> } | undefined;
  /** Checks the operation and returns its estimated cost; throws AppError when it is refused. */
  const measure = ({ schema, document, operation, operationName, request }: GraphQLRequestContextDidResolveOperation<BaseContext>): number => {
    if (operation?.operation === 'subscription') throw new AppError('SUBSCRIPTIONS_NOT_SUPPORTED', 'this subgraph has no subscriptions: send a query or a mutation');
    checkInput(document, request.variables);
    if (estimator?.schema !== schema) estimator = { schema, estimate: costEstimator(schema, limits), entityTypes: entityTypesOf(schema) };
    // A repeated document's cost is computed once (Apollo keeps parsed documents): without variables
    // it is the document's own; when its only variables are `_entities` representations (what a
    // gateway sends) it depends on how many there are, and each request's are still checked.
    const representations = operation ? entityOnlyVariables(operation) : null;
    const lists = representations?.map((name) => request.variables?.[name]);
    const key = lists?.every(Array.isArray) ? `${operationName ?? ''}|${lists.map((list) => (list as unknown[]).length).join(',')}` : null;
    const known = key !== null ? knownCosts.get(document)?.get(key) : undefined;
    if (known !== undefined) {
      for (const name of representations!) checkRepresentations(request.variables?.[name], estimator.entityTypes, limits);
      return known;
    }
    let cost: number;
    try {
      const context: CostContext = { representations: 0 };
      cost = getComplexity({ schema, query: document, variables: request.variables ?? {}, operationName: operationName ?? undefined, estimators: [estimator.estimate], context });
    } catch (error) {
      if (error instanceof AppError) throw error;
      // Variables that do not coerce: execution would refuse them too, with this message.
      throw AppError.badInput(error instanceof Error ? error.message : 'the variables are not valid');
    }
    if (cost > limits.maxCost) throw tooComplex('the estimated cost', cost, 'maxCost', limits);
    if (key !== null) {
      let byKey = knownCosts.get(document);
      if (!byKey) knownCosts.set(document, (byKey = new Map()));
      if (byKey.size < 100) byKey.set(key, cost);
    }
    return cost;
  };
  return {
    async requestDidStart() {
      return {
        async didResolveOperation(requestContext) {
          try {
            costs.set(requestContext, measure(requestContext));
          } catch (error) {
            // A request refused before execution is the client's: HTTP 400 (Apollo would answer 500).
            if (error instanceof AppError && !error.extensions.http) error.extensions.http = { status: 400, headers: new HeaderMap() };
            throw error;
          }
        },
      };
    },
  };
}
