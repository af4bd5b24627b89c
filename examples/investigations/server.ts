/**
 * The investigations example subgraph: alerts and cases in memory, each alert referencing a
 * `Connector` of the connectors subgraph by id. It exists to exercise the connector subgraph behind
 * a gateway (test/e2e/gateway.test.ts, docker-compose.yml); it has no storage and no auth.
 */
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { readFileSync } from 'node:fs';
import { GraphQLError, GraphQLScalarType, Kind, parse, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { AlertRecord, CaseRecord, InvestigationsData } from './data.js';

/** The subgraph's SDL, as composed by `npm run compose`. */
export const INVESTIGATIONS_SDL_FILE = new URL('./schema.graphql', import.meta.url);

const ALERTS_MAX = 1000;

export function investigationsTypeDefs(): DocumentNode {
  return parse(readFileSync(INVESTIGATIONS_SDL_FILE, 'utf8'));
}

const DateTime = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  serialize(value) {
    const date = value instanceof Date ? value : new Date(value as string);
    if (Number.isNaN(date.getTime())) throw new GraphQLError('DateTime cannot represent an invalid date');
    return date.toISOString();
  },
  parseValue(value) {
    const date = new Date(value as string);
    if (typeof value !== 'string' || Number.isNaN(date.getTime())) throw new GraphQLError('DateTime must be an ISO 8601 string');
    return date;
  },
  parseLiteral(ast) {
    const date = ast.kind === Kind.STRING ? new Date(ast.value) : new Date(Number.NaN);
    if (Number.isNaN(date.getTime())) throw new GraphQLError('DateTime must be an ISO 8601 string');
    return date;
  },
});

/** The executable subgraph schema over `data`; the arrays are read on every request, so tests may change them. */
export function buildInvestigationsSchema(data: InvestigationsData): GraphQLSchema {
  const alertById = (id: string) => data.alerts.find((a) => a.id === id) ?? null;
  const newestFirst = (a: AlertRecord, b: AlertRecord) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1);
  return buildSubgraphSchema({
    typeDefs: investigationsTypeDefs(),
    resolvers: {
      DateTime,
      Query: {
        alerts(_: unknown, { first }: { first?: number | null }) {
          if (first != null && (first < 0 || first > ALERTS_MAX)) {
            throw new GraphQLError(`first must be from 0 to ${ALERTS_MAX}`, { extensions: { code: 'BAD_USER_INPUT' } });
          }
          const sorted = [...data.alerts].sort(newestFirst);
          return first == null ? sorted : sorted.slice(0, first);
        },
        case(_: unknown, { id }: { id: string }) {
          return data.cases.find((c) => c.id === id) ?? null;
        },
      },
      Alert: {
        __resolveReference: (ref: { id: string }) => alertById(ref.id),
        // A reference only: the gateway asks the connectors subgraph for every other field.
        connector: (alert: AlertRecord) => (alert.connectorId ? { __typename: 'Connector', id: alert.connectorId } : null),
      },
      Case: {
        __resolveReference: (ref: { id: string }) => data.cases.find((c) => c.id === ref.id) ?? null,
        alerts: (c: CaseRecord) => c.alertIds.map(alertById).filter((a): a is AlertRecord => a !== null),
      },
    },
  });
}

export interface InvestigationsSubgraph {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:4002/graphql. */
  url: string;
  port: number;
  data: InvestigationsData;
  stop(): Promise<void>;
}

/** Starts the subgraph over `data` on `host:port` (port 0 picks a free one). */
export async function startInvestigationsSubgraph(options: { data: InvestigationsData; port?: number; host?: string }): Promise<InvestigationsSubgraph> {
  const server = new ApolloServer({
    schema: buildInvestigationsSchema(options.data),
    introspection: true,
    // Whoever starts it decides how to stop it (main.ts handles the signals).
    stopOnTerminationSignals: false,
  });
  const host = options.host ?? '127.0.0.1';
  // The standalone server answers GraphQL on every path; /graphql is the conventional one.
  const { url } = await startStandaloneServer(server, { listen: { port: options.port ?? 0, host } });
  const port = Number(new URL(url).port);
  const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return {
    url: `http://${shownHost}:${port}/graphql`,
    port,
    data: options.data,
    stop: () => server.stop(),
  };
}
