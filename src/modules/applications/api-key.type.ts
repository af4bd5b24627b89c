import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { API_KEY_SCOPES, type ApiKeyScope } from './api-key.scope.js';

export const ApiKeyScopeEnum = Object.fromEntries(API_KEY_SCOPES.map((s) => [s, s])) as Record<ApiKeyScope, ApiKeyScope>;
registerEnumType(ApiKeyScopeEnum, { name: 'ApiKeyScope', description: 'READ reads like a viewer; WRITE also writes like an editor, within its application.' });

/** An application's API key as clients see it: never the token, nor its hash. */
@ObjectType({ description: "An application's API key. The token is shown once, by createApiKey." })
export class ApiKey {
  @Field(() => ID, { description: "Type-prefixed ULID (key_…); the token's sub." }) id!: string;
  @Field(() => String) name!: string;
  @Field(() => String, { description: "The first 8 characters of the token's signature (the part after its last \".\"), to tell tokens apart." })
  prefix!: string;
  @Field(() => ApiKeyScopeEnum) scope!: ApiKeyScope;
  @Field(() => Date, { nullable: true }) expiresAt!: Date | null;
  @Field(() => Date, { nullable: true }) revokedAt!: Date | null;
  @Field(() => Date, { nullable: true, description: 'Updated at most once a minute.' }) lastUsedAt!: Date | null;
  @Field(() => Date) createdAt!: Date;
}

@ObjectType()
export class CreatedApiKey {
  @Field(() => ApiKey) apiKey!: ApiKey;
  @Field(() => String, { description: 'A JWT signed by this service (keys at /.well-known/jwks.json). Shown once: it is stored nowhere.' })
  token!: string;
}
