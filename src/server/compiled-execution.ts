import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import { execute, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { getVariableValues } from 'graphql/execution/values.js';
import type { CompiledQuery } from 'graphql-jit';

type Jit = typeof import('graphql-jit');

/**
 * Compiled execution of repeated queries (graphql-jit, what Mercurius uses), under Apollo Server.
 *
 * Apollo Server executes through a gateway's executor when it has one: this "gateway" serves the
 * service's own schema and executes each query document with the function graphql-jit compiled for
 * it (once per document and operation; Apollo keeps parsed documents, so a repeated query is the
 * same DocumentNode). Parsing, validation, every plugin hook (cost, admission, metrics, tracing) and
 * error formatting stay Apollo's; only the execution changes. graphql-js `execute` still runs:
 * - mutations (serial, few fields: nothing to gain) and introspection;
 * - requests whose variables do not coerce (graphql-js's errors and HTTP 400, as before);
 * - requests with federated traces (Apollo then wraps the resolvers to time them, which a
 *   compiled query would not see);
 * - documents graphql-jit does not compile;
 * - until graphql-jit is loaded: it is imported on the first query, not at start (its module graph,
 *   fast-json-stringify and ajv, takes about 0.5 s to load here, which would add to every start).
 * Measured by `node dist/bench/jit.js` (bench/RESULTS.md) before it was adopted.
 */
export function compiledExecution(schema: GraphQLSchema): GatewayInterface {
  const compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery | null>>();
  const slow = (document: DocumentNode, contextValue: unknown, variableValues: Record<string, unknown> | undefined, operationName: string | undefined) =>
    execute({ schema, document, contextValue, variableValues, operationName }) as Promise<ExecutionResult> | ExecutionResult;

  let jit: Jit | null = null;
  let loading: Promise<unknown> | null = null;
  const compiledFor = (document: DocumentNode, operationName: string | undefined): CompiledQuery | null => {
    if (!jit) {
      // Failing to load leaves every query on graphql-js.
      loading ??= import('graphql-jit').then((module) => (jit = module), () => undefined);
      return null;
    }
    const { compileQuery, isCompiledQuery } = jit;
    let byName = compiled.get(document);
    if (!byName) compiled.set(document, (byName = new Map()));
    const key = operationName ?? '';
    let query = byName.get(key);
    if (query === undefined) {
      const result = compileQuery(schema, document, operationName);
      query = isCompiledQuery(result) ? result : null;
      byName.set(key, query);
    }
    return query;
  };

  const executor: GatewayExecutor = async ({ document, request, operation, operationName, context }) => {
    const name = operationName ?? undefined;
    if (operation.operation !== 'query' || traced(context) || introspects(operation.selectionSet.selections)) {
      return slow(document, context, request.variables, name);
    }
    const { errors } = getVariableValues(schema, operation.variableDefinitions ?? [], request.variables ?? {});
    const query = errors ? null : compiledFor(document, name);
    if (!query) return slow(document, context, request.variables, name);
    return withExtensions(await (query.query(undefined, context, request.variables ?? {}) as Promise<ExecutionResult> | ExecutionResult));
  };

  let announce: ((schemaContext: { apiSchema: GraphQLSchema; coreSupergraphSdl: string }) => void) | null = null;
  return {
    onSchemaLoadOrUpdate(callback) {
      announce = callback;
      return () => {
        announce = null;
      };
    },
    async load() {
      announce?.({ apiSchema: schema, coreSupergraphSdl: '' });
      return { executor };
    },
    async stop() {},
  };
}

/** Apollo marks the context of a request whose plugins time each field (federated traces). */
function traced(context: object): boolean {
  return Object.getOwnPropertySymbols(context).some((s) => s.description === 'apolloServerExecutionDispatcherWillResolveField');
}

function introspects(selections: ReadonlyArray<{ kind: string; name?: { value: string } }>): boolean {
  return selections.some((s) => s.kind !== 'Field' || s.name?.value === '__schema' || s.name?.value === '__type');
}

/**
 * graphql-jit's errors leave `extensions` undefined when their cause has none, where graphql-js gives
 * `{}`; Apollo reads `extensions.code` before our formatter sees the error, so such an error would
 * come out as Apollo's bare "Internal server error", without the request id. Each is copied with `{}`.
 */
function withExtensions(result: ExecutionResult): ExecutionResult {
  if (!result.errors?.some((error) => error.extensions === undefined)) return result;
  const errors = result.errors.map((error) =>
    error.extensions !== undefined
      ? error
      : (Object.create(Object.getPrototypeOf(error), { ...Object.getOwnPropertyDescriptors(error), extensions: { value: {}, enumerable: false } }) as typeof error),
  );
  return { ...result, errors };
}
