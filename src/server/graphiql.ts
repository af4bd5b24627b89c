/** GraphiQL served entirely from node_modules: the machines that run this are offline. */
import type { FastifyInstance } from 'fastify';
import { packageFile } from './package-files.js';

const ASSETS: Record<string, { pkg: string; file: string; type: string }> = {
  'react.js': { pkg: 'react', file: 'umd/react.production.min.js', type: 'text/javascript; charset=utf-8' },
  'react-dom.js': { pkg: 'react-dom', file: 'umd/react-dom.production.min.js', type: 'text/javascript; charset=utf-8' },
  'graphiql.js': { pkg: 'graphiql', file: 'graphiql.min.js', type: 'text/javascript; charset=utf-8' },
  'graphiql.css': { pkg: 'graphiql', file: 'graphiql.min.css', type: 'text/css; charset=utf-8' },
};

export const DEFAULT_QUERY = `# Paste a token from \`npm run token -- --tenant t1 --role admin\` into the Headers tab:
# { "Authorization": "Bearer <token>" }
query Connectors {
  connectors(first: 10) {
    totalCount
    nodes { id name type provider enabled syncStatus runState version }
  }
}
`;

/**
 * The Content-Security-Policy of every response (set through @fastify/helmet): GraphiQL's scripts
 * and styles come from this origin; no inline script runs (the page's settings are a JSON data block).
 */
export const GRAPHIQL_CSP = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  // GraphiQL and CodeMirror set element styles at run time.
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:'],
  fontSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'none'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
};

/** Starts GraphiQL with the settings of the page's JSON data block. */
const INIT_SCRIPT = `const initial = JSON.parse(document.getElementById('graphiql-settings').textContent);
const fetcher = GraphiQL.createFetcher({ url: new URL('/graphql', window.location.href).toString() });
ReactDOM.createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, { fetcher, defaultQuery: initial.query, defaultHeaders: initial.headers, headerEditorEnabled: true, shouldPersistHeaders: true })
);
`;

function page(): string {
  const config = JSON.stringify({ query: DEFAULT_QUERY, headers: JSON.stringify({ Authorization: 'Bearer <token>' }, null, 2) }).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Connector subgraph · GraphiQL</title>
<link rel="stylesheet" href="/graphiql/graphiql.css">
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script src="/graphiql/react.js"></script>
<script src="/graphiql/react-dom.js"></script>
<script src="/graphiql/graphiql.js"></script>
<script type="application/json" id="graphiql-settings">${config}</script>
<script src="/graphiql/init.js"></script>
</body>
</html>`;
}

export function registerGraphiQL(app: FastifyInstance): { html: string } {
  const files: Record<string, { body: Buffer; type: string }> = Object.fromEntries(
    Object.entries(ASSETS).map(([name, asset]) => [name, { body: packageFile(asset.pkg, asset.file), type: asset.type }]),
  );
  files['init.js'] = { body: Buffer.from(INIT_SCRIPT), type: 'text/javascript; charset=utf-8' };
  app.get<{ Params: { file: string } }>('/graphiql/:file', async (request, reply) => {
    const file = files[request.params.file];
    if (!file) return reply.code(404).send({ error: 'not found' });
    return reply.header('content-type', file.type).header('cache-control', 'public, max-age=86400').send(file.body);
  });
  return { html: page() };
}
