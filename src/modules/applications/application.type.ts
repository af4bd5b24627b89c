import { Directive, Field, ID, Int, ObjectType } from 'type-graphql';
import { PageInfo } from '../../graphql/pagination.js';

/** An integration's application: groups connectors, owns API keys. */
@Directive('@key(fields: "id")')
@ObjectType()
export class Application {
  @Field(() => ID, { description: 'Type-prefixed ULID (app_…).' }) id!: string;
  @Field(() => String) tenantId!: string;
  @Field(() => String) name!: string;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field(() => Int) version!: number;
  @Field(() => Date) createdAt!: Date;
  @Field(() => Date) updatedAt!: Date;
  @Field(() => Boolean) isDeleted!: boolean;
}

@ObjectType()
export class ApplicationEdge {
  @Field(() => String) cursor!: string;
  @Field(() => Application) node!: Application;
}

@ObjectType()
export class ApplicationConnection {
  @Field(() => [ApplicationEdge]) edges!: ApplicationEdge[];
  @Field(() => [Application]) nodes!: Application[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  @Field(() => Int)
  totalCount(): Promise<number> {
    return this.countTotal();
  }
  countTotal!: () => Promise<number>;
}
