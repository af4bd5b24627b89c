import { Field, Int, ObjectType } from 'type-graphql';
import { HealthStatusEnum } from '../../graphql/enums.js';
import type { HealthStatus } from '../connectors/connector.enums.js';

@ObjectType({ description: 'One health status transition.' })
export class HealthEvent {
  @Field(() => Date) at!: Date;
  @Field(() => HealthStatusEnum) from!: HealthStatus;
  @Field(() => HealthStatusEnum) to!: HealthStatus;
  @Field(() => String, { nullable: true }) reason!: string | null;
}

@ObjectType()
export class HealthCount {
  @Field(() => HealthStatusEnum) status!: HealthStatus;
  @Field(() => Int) count!: number;
}

@ObjectType()
export class ConnectorHealthSummary {
  @Field(() => Int) total!: number;
  @Field(() => Int) enabled!: number;
  @Field(() => [HealthCount]) byStatus!: HealthCount[];
  @Field(() => Int, {
    description:
      'Enabled connectors whose last health check (or enabling) is older than 1.5 × their healthCheckIntervalSec: the workers are not keeping up with the schedule (docs/capacity.md). 0 while they do.',
  })
  checksOverdue!: number;
  @Field(() => Int, { description: 'Seconds the longest-waiting due health check of these connectors has waited for a worker; 0 when none waits.' })
  oldestCheckWaitSec!: number;
}
