import { Kind, type FieldNode, type FragmentDefinitionNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import { connectorProjection, type ConnectorProjection } from '../modules/connectors/connector.projection.js';

/**
 * The columns and compiled mapper for the `Connector` fields a resolver's selection asks for, at
 * `paths` below it (default: the field's own object; `[['nodes'], ['edges', 'node']]` for a page).
 */
export function projectionOf(info: GraphQLResolveInfo, paths: ReadonlyArray<readonly string[]> = OWN): ConnectorProjection {
  // Per field node and paths: `_entities` asks once per reference, a list field once per request.
  const node = info.fieldNodes[0]!;
  let byPaths = projections.get(node);
  if (!byPaths) projections.set(node, (byPaths = new Map()));
  let projection = byPaths.get(paths);
  if (!projection) byPaths.set(paths, (projection = connectorProjection(selectedFields(info, 'Connector', paths))));
  return projection;
}

const OWN: ReadonlyArray<readonly string[]> = [[]];
const projections = new WeakMap<FieldNode, Map<ReadonlyArray<readonly string[]>, ConnectorProjection>>();

/**
 * The field names a resolver's selection asks of objects of type `typeName`, at `path` below the
 * current field (e.g. `['nodes']` and `['edges', 'node']` for a connection, `[]` for the field's
 * own object): fragments and inline fragments on that type (or without a type condition) included.
 * A field under `@include`/`@skip` counts as selected (a superset is always safe to read).
 *
 * Cached per field node: Apollo Server keeps parsed documents, so a repeated document is walked
 * once, not on every request (the fragments of one document never change).
 */
export function selectedFields(info: GraphQLResolveInfo, typeName: string, paths: ReadonlyArray<readonly string[]>): ReadonlySet<string> {
  const node = info.fieldNodes[0]!;
  const key = `${typeName}|${paths.map((p) => p.join('.')).join('|')}`;
  let byKey = cache.get(node);
  if (!byKey) cache.set(node, (byKey = new Map()));
  let fields = byKey.get(key);
  if (!fields) {
    const found = new Set<string>();
    for (const fieldNode of info.fieldNodes) for (const path of paths) collectAt(fieldNode.selectionSet, path, typeName, info.fragments, found);
    fields = found;
    byKey.set(key, fields);
  }
  return fields;
}

const cache = new WeakMap<FieldNode, Map<string, ReadonlySet<string>>>();

function collectAt(set: SelectionSetNode | undefined, path: readonly string[], typeName: string, fragments: Record<string, FragmentDefinitionNode>, out: Set<string>): void {
  if (!set) return;
  if (!path.length) return collect(set, typeName, fragments, out, true);
  // Intermediate objects (connections, edges) carry no type condition worth checking.
  const names = new Set<string>();
  const inner: SelectionSetNode[] = [];
  const walk = (s: SelectionSetNode) => {
    for (const selection of s.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value === path[0] && selection.selectionSet) inner.push(selection.selectionSet);
        names.add(selection.name.value);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet);
      else {
        const fragment = fragments[selection.name.value];
        if (fragment) walk(fragment.selectionSet);
      }
    }
  };
  walk(set);
  for (const s of inner) collectAt(s, path.slice(1), typeName, fragments, out);
}

function collect(set: SelectionSetNode, typeName: string, fragments: Record<string, FragmentDefinitionNode>, out: Set<string>, top: boolean): void {
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) out.add(selection.name.value);
    else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const on = selection.typeCondition?.name.value;
      if (!on || on === typeName) collect(selection.selectionSet, typeName, fragments, out, false);
      else if (top) continue;
    } else {
      const fragment = fragments[selection.name.value];
      if (fragment && fragment.typeCondition.name.value === typeName) collect(fragment.selectionSet, typeName, fragments, out, false);
    }
  }
}
