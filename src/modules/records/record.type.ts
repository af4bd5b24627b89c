import { Directive, Field, Float, ID, InputType, Int, ObjectType } from 'type-graphql';
import { PageInfo } from '../../graphql/pagination.js';
import { JSONScalar } from '../../graphql/scalars.js';
import { RecordKindEnum, type RecordKind } from './record.enums.js';

/**
 * One normalized record a connector delivered (a row of `ingested_records`). Visible to whoever
 * may see its connector; records of deleted connectors are not shown. The typed convenience fields
 * (`src`, `cveId`, …) are resolved from `data` and null where the kind has no such field.
 */
@Directive('@key(fields: "id")')
@ObjectType('Record', { description: 'A normalized record delivered by a connector, deduplicated by its identifying fields.' })
export class RecordNode {
  @Field(() => ID, { description: '"rec_" and 26 hex digits, derived from tenant, connector and dedup key: stable across redeliveries.' })
  id!: string;
  /** Resolved by `Record.connector`. */
  connectorId!: string;
  @Field(() => RecordKindEnum) kind!: RecordKind;
  @Field(() => Date, { nullable: true, description: 'When the source saw it (its own timestamp), where it has one.' })
  observedAt!: Date | null;
  @Field(() => Date, { description: 'When it was stored (again after its dedup window). Pages are newest first by this.' })
  ingestedAt!: Date;
  @Field(() => String, { description: 'Hash of the fields that identify the same finding.' }) dedupKey!: string;
  @Field(() => Int, { description: 'Duplicates received within the dedup window since it was stored.' }) duplicateCount!: number;
  @Field(() => Date, { description: 'When it or a duplicate last arrived.' }) lastSeenAt!: Date;
  @Field(() => JSONScalar, { description: 'The normalized record.' }) data!: Record<string, unknown>;
  @Field(() => Float, { nullable: true, description: '0–10: an event\'s severity, a vulnerability\'s highest CVSS base score.' })
  severity!: number | null;
  @Field(() => String, { nullable: true }) title!: string | null;
}

@ObjectType()
export class RecordEdge {
  @Field(() => String) cursor!: string;
  @Field(() => RecordNode) node!: RecordNode;
}

@ObjectType()
export class RecordConnection {
  @Field(() => [RecordEdge]) edges!: RecordEdge[];
  @Field(() => [RecordNode]) nodes!: RecordNode[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  /** Counted only when a client asks for it. */
  @Field(() => Int)
  totalCount(): Promise<number> {
    return this.countTotal();
  }
  countTotal!: () => Promise<number>;
}

@InputType({ description: 'All conditions apply together; an empty list is no condition.' })
export class RecordFilter {
  @Field(() => [ID], { nullable: true }) connectorIds?: string[] | null;
  @Field(() => [RecordKindEnum], { nullable: true }) kinds?: RecordKind[] | null;
  @Field(() => Date, { nullable: true, description: 'ingestedAt >= since' }) since?: Date | null;
  @Field(() => Date, { nullable: true, description: 'ingestedAt < until' }) until?: Date | null;
  @Field(() => Float, { nullable: true, description: 'severity >= severityAtLeast; records without a severity are left out.' })
  severityAtLeast?: number | null;
  @Field(() => String, { nullable: true, description: 'Case-insensitive substring of the title, taken literally (% and _ included); at most 200 characters.' })
  search?: string | null;
}
