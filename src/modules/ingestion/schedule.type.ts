import { Field, Int, ObjectType } from 'type-graphql';
import type { Weekday } from '../../adapters/schedule.js';
import { WeekdayEnum } from '../../graphql/enums.js';

@ObjectType({ description: 'Days and hours (in the schedule\'s time zone) when runs may start; end before start crosses midnight.' })
export class SyncWindow {
  @Field(() => [WeekdayEnum], { description: 'The days the window opens on.' }) days!: Weekday[];
  @Field(() => String, { description: 'HH:MM, when the window opens.' }) start!: string;
  @Field(() => String, { description: 'HH:MM, when it closes.' }) end!: string;
}

@ObjectType({ description: 'When runs of a polled connector start: `config.schedule` and `config.syncIntervalSec`, as stored.' })
export class ConnectorSchedule {
  @Field(() => String, { nullable: true, description: 'The cron expression; null: every intervalSec.' }) cron!: string | null;
  @Field(() => Int, { nullable: true, description: 'Seconds between runs when there is no cron expression.' }) intervalSec!: number | null;
  @Field(() => String, { description: 'IANA time zone of the cron expression and the windows.' }) timezone!: string;
  @Field(() => [SyncWindow], { description: 'Empty: runs may start at any time.' }) windows!: SyncWindow[];
}
