import { Field, Float, ID, ObjectType } from 'type-graphql';

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

@ObjectType({ description: "What a push connector's intake received, since the connector was created (counted in every process)." })
export class IntakeStats {
  @Field(() => Float, { description: 'Messages that reached the connector: accepted + rejected + droppedDisabled.' }) received!: number;
  @Field(() => Float, { description: 'Messages decoded into records (stored, or counted as duplicates).' }) accepted!: number;
  @Field(() => Float, { description: 'Of the accepted, records whose dedup key was seen within the window (counted on the stored record).' }) duplicates!: number;
  @Field(() => Float, { description: 'Messages the provider could not decode.' }) rejected!: number;
  @Field(() => Float, { description: 'Messages that arrived while the connector was disabled.' }) droppedDisabled!: number;
  @Field(() => Float, { description: 'HTTP submissions refused because the intake was full (the sender was told to retry); not in received.' }) droppedBusy!: number;
  @Field(() => Float, { description: 'Syslog UDP datagrams lost because the connector\'s queue was full (UDP cannot be held back); not in received.' })
  droppedOverflow!: number;
  @Field(() => Date, { nullable: true }) firstReceivedAt!: Date | null;
  @Field(() => Date, { nullable: true }) lastReceivedAt!: Date | null;
  @Field(() => String, { nullable: true, description: 'The address the last message came from.' }) lastSender!: string | null;
  @Field(() => String, { nullable: true, description: 'Why the last undecodable message was rejected.' }) lastError!: string | null;
}
