/**
 * The layering docs/architecture.md describes, checked on the import graph of src/ (every static
 * import and re-export, type-only ones included, and every literal dynamic import()):
 *
 * 1. No import cycles anywhere in src/ but the one listed in KNOWN_CYCLES; in particular none in
 *    src/secrets/, where the factory imports the stores and the stores import only the contract.
 * 2. Under src/modules/, only the GraphQL surface imports from src/graphql/: `*.resolver.ts`,
 *    `*.type.ts` and `*.inputs.ts` (type-graphql classes and resolvers), and `*.loaders.ts`, which
 *    may import src/graphql/batch.ts (the DataLoader classes) and nothing else there. Services,
 *    entities, mappers, rules, routes and every other module file import nothing from src/graphql/.
 * 3. src/context/ (the request as services see it) imports only src/context/, src/auth/ and
 *    src/errors/: nothing from src/graphql/, src/modules/, src/server/ or src/services.ts.
 * 4. Every path docs/architecture.md names exists: each `src/...` mention, and each entry of its
 *    layout tree.
 *
 * LAYERING_ROOT=<dir> runs the same checks on another checkout (e.g. to see them fail on an old one).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(process.env.LAYERING_ROOT ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..'));

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) tsFiles(path, out);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Repository-relative, `/`-separated. */
const rel = (path: string) => relative(root, path).split(sep).join('/');

function specifiers(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      found.push(node.moduleReference.expression.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      found.push(node.arguments[0].text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The relative imports of every file under src/, resolved to repository-relative .ts paths. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of tsFiles(join(root, 'src'))) {
    const targets = new Set<string>();
    for (const spec of specifiers(file)) {
      if (!spec.startsWith('.')) continue;
      const base = resolve(dirname(file), spec);
      const candidate = [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')].find((p) => p.endsWith('.ts') && existsSync(p));
      if (candidate) targets.add(rel(candidate));
    }
    graph.set(rel(file), [...targets].sort());
  }
  return graph;
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) connect(v);
  return found;
}

/** One concrete loop through a component, for the failure message: a → b → … → a. */
function loopIn(graph: Map<string, string[]>, component: string[]): string {
  const members = new Set(component);
  const start = component[0]!;
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(previous.get(path[0]!)!);
        return [...path, start].join(' → ');
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return component.join(', ');
}

const graph = importGraph();

/**
 * Cycles known and left for now, each exactly as found. spi.ts names the OAuth token cache's type
 * with an inline `import('./http/auth.js')` while http/auth.ts takes `AuthType` and `Credentials`
 * from spi.ts: type-only both ways, so nothing runs in a circle, but the contract should not need
 * the client's types.
 */
const KNOWN_CYCLES = [['src/adapters/http/auth.ts', 'src/adapters/spi.ts']].map((c) => c.join(', '));

test('src/ has no import cycles, type-only imports included', () => {
  const found = cycles(graph)
    .filter((component) => !KNOWN_CYCLES.includes(component.join(', ')))
    .map((component) => `${component.length} files: ${loopIn(graph, component)}`);
  expect(found).toEqual([]);
});

test('src/secrets: the factory imports the stores, the stores import only the contract', () => {
  const secrets = [...graph].filter(([file]) => file.startsWith('src/secrets/'));
  expect(secrets.length).toBeGreaterThan(0);
  expect(cycles(new Map(secrets)).map((c) => c.join(', '))).toEqual([]);
  const wrong: string[] = [];
  for (const [file, targets] of secrets) {
    for (const target of targets) {
      if (target === 'src/secrets/secret-store.ts') wrong.push(`${file} imports the factory`);
      if (file === 'src/secrets/contract.ts' && target.startsWith('src/secrets/')) wrong.push(`the contract imports ${target}`);
    }
  }
  expect(wrong).toEqual([]);
});

test('under src/modules/, only resolvers, GraphQL types, inputs and loaders import from src/graphql/', () => {
  const surface = /\.(resolver|type|inputs)\.ts$/;
  const violations: string[] = [];
  for (const [file, targets] of graph) {
    if (!file.startsWith('src/modules/') || surface.test(file)) continue;
    for (const target of targets) {
      if (!target.startsWith('src/graphql/')) continue;
      if (file.endsWith('.loaders.ts') && target === 'src/graphql/batch.ts') continue;
      violations.push(`${file} imports ${target}`);
    }
  }
  expect(violations).toEqual([]);
});

test('src/context/ sits below GraphQL and the modules: it imports only src/context/, src/auth/, src/errors/', () => {
  const context = [...graph].filter(([file]) => file.startsWith('src/context/'));
  expect(context.map(([file]) => file)).toEqual(expect.arrayContaining(['src/context/request-context.ts']));
  const violations = context.flatMap(([file, targets]) =>
    targets.filter((t) => !/^src\/(context|auth|errors)\//.test(t)).map((t) => `${file} imports ${t}`),
  );
  expect(violations).toEqual([]);
  // What the context layer imports must not lead back up either.
  const reach = new Set<string>();
  const visit = (f: string): void => {
    for (const t of graph.get(f) ?? []) if (!reach.has(t)) (reach.add(t), visit(t));
  };
  for (const [file] of context) visit(file);
  expect([...reach].filter((f) => /^src\/(graphql|modules|server)\//.test(f) || f === 'src/services.ts')).toEqual([]);
});

test('every path docs/architecture.md names exists', () => {
  const doc = readFileSync(join(root, 'docs', 'architecture.md'), 'utf8');
  const named = new Set<string>();
  // `src/...` anywhere in the text.
  for (const match of doc.matchAll(/(?<![\w/.-])src\/[\w./-]*/g)) named.add(match[0].replace(/[.,:;]+$/, ''));
  // The layout tree: the fenced block whose first line is `src/`; two spaces of indent per level,
  // then one or more names (comma-separated), then two or more spaces and a description.
  const tree = [...doc.matchAll(/```\n(src\/[\s\S]*?)```/g)][0]?.[1];
  expect(tree).toBeDefined();
  const parents: string[] = [];
  for (const line of tree!.split('\n')) {
    if (!line.trim()) continue;
    const m = /^( *)(\S+(?:, \S+)*)(?: {2,}.*)?$/.exec(line);
    if (!m) throw new Error(`unparsed layout line: ${line}`);
    const depth = m[1]!.length / 2;
    const names = m[2]!.split(', ');
    parents.length = depth;
    for (const name of names) named.add(parents.join('') + name);
    parents[depth] = names[0]!.endsWith('/') ? names[0]! : '';
  }
  expect(named.size).toBeGreaterThan(20);
  const missing = [...named].filter((path) => !existsSync(join(root, path)));
  expect(missing).toEqual([]);
});
