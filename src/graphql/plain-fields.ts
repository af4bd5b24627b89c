import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { getMetadataStorage } from 'type-graphql';

/**
 * Removes type-graphql's resolver from every plain field: a `@Field` property with no field
 * resolver, no middleware (`@UseMiddleware`, `@Requires`, `@NullUnless`), no auth roles, no
 * arguments and no schema name of its own. type-graphql wraps each such field in a resolver that
 * builds a `resolverData` object and runs the (empty) middleware chain for every value of every
 * row; graphql-js's default resolver reads the same property. Fields with any rule keep theirs.
 * Returns how many were removed. Call after `buildSchema`, on `createResolversMap`'s output.
 */
export function dropPlainFieldResolvers(resolvers: GraphQLResolverMap<unknown>): number {
  const storage = getMetadataStorage() as unknown as {
    objectTypes: Array<{ name: string; target: Function }>;
    fields: Array<{ target: Function; name: string; schemaName: string; middlewares: unknown[]; roles?: unknown[]; params?: unknown[] }>;
    fieldResolvers: Array<{ methodName: string; getObjectType?: () => Function }>;
  };
  const resolved = new Set<string>();
  for (const r of storage.fieldResolvers) {
    const target = r.getObjectType?.();
    if (target) resolved.add(`${target.name}.${r.methodName}`);
  }
  let dropped = 0;
  for (const objectType of storage.objectTypes) {
    const map = resolvers[objectType.name] as Record<string, unknown> | undefined;
    if (!map) continue;
    for (const field of storage.fields) {
      const own = field.target === objectType.target || objectType.target.prototype instanceof field.target;
      if (!own || !(field.schemaName in map)) continue;
      if (resolved.has(`${field.target.name}.${field.name}`) || resolved.has(`${objectType.target.name}.${field.name}`)) continue;
      if (field.middlewares.length || field.roles?.length || field.params?.length || field.schemaName !== field.name) continue;
      delete map[field.schemaName];
      dropped++;
    }
  }
  return dropped;
}
