import { Field, ID, ObjectType } from 'type-graphql';

/** A push connector's intake token as clients see it: never the token, nor its hash. */
@ObjectType({ description: "A push connector's intake token (Splunk HEC-compatible). The token is shown once, by createIntakeToken." })
export class IntakeToken {
  @Field(() => ID, { description: 'Type-prefixed ULID (itk_…).' }) id!: string;
  @Field(() => ID) connectorId!: string;
  @Field(() => String) name!: string;
  @Field(() => String, { description: 'The first 8 characters of the token after "hec_", to tell tokens apart.' })
  prefix!: string;
  @Field(() => Date) createdAt!: Date;
  @Field(() => String, { nullable: true }) createdBy!: string | null;
  @Field(() => Date, { nullable: true, description: 'Updated at most once a minute.' }) lastUsedAt!: Date | null;
  @Field(() => Date, { nullable: true }) revokedAt!: Date | null;
}

@ObjectType()
export class CreatedIntakeToken {
  @Field(() => IntakeToken) intakeToken!: IntakeToken;
  @Field(() => String, { description: 'hec_ + 43 characters. Shown once: only its SHA-256 is stored.' })
  token!: string;
}
