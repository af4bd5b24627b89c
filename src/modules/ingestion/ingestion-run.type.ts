import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { RUN_STATUSES, type RunStatus } from './ingestion-run.entity.js';

export const RunStatusEnum = Object.fromEntries(RUN_STATUSES.map((s) => [s, s])) as Record<RunStatus, RunStatus>;
registerEnumType(RunStatusEnum, { name: 'RunStatus' });

@ObjectType({ description: 'One ingestion run: read from the upstream, normalize, deliver to the sink.' })
export class IngestionRun {
  @Field(() => ID) id!: string;
  @Field(() => ID) connectorId!: string;
  @Field(() => RunStatusEnum) status!: RunStatus;
  @Field(() => String, { description: 'schedule, manual or enable' }) trigger!: string;
  @Field(() => Date, { nullable: true }) startedAt!: Date | null;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;
  @Field(() => Int) recordsRead!: number;
  @Field(() => Int) recordsWritten!: number;
  @Field(() => Int) duplicates!: number;
  @Field(() => String, { nullable: true, description: 'Scrubbed of secret values.' }) error!: string | null;
}
