import type { DataSource, EntityTarget, ObjectLiteral } from 'typeorm';

/**
 * Maps raw snake_case rows onto entity instances using TypeORM's column metadata, for queries
 * TypeORM cannot express (lateral joins, window functions). pg already parses timestamptz,
 * jsonb and arrays.
 */
export function createHydrator<T extends ObjectLiteral>(dataSource: DataSource, target: EntityTarget<T>) {
  const metadata = dataSource.getMetadata(target);
  const columns = metadata.columns.map((c) => [c.databaseName, c.propertyName, c.transformer] as const);
  return (row: Record<string, unknown>): T => {
    const entity = metadata.create() as Record<string, unknown>;
    for (const [db, prop, transformer] of columns) {
      const value = row[db];
      entity[prop] = transformer && !Array.isArray(transformer) ? transformer.from(value) : value;
    }
    return entity as T;
  };
}

/** Quoted select list of an entity's columns for raw SQL, e.g. `a."id", a."tenant_id"`. */
export function columnList(dataSource: DataSource, target: EntityTarget<ObjectLiteral>, alias: string): string {
  return dataSource
    .getMetadata(target)
    .columns.map((c) => `${alias}."${c.databaseName}"`)
    .join(', ');
}
