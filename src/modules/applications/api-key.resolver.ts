import { Arg, Ctx, ID, Int, Mutation, Resolver } from 'type-graphql';
import { Caller, type CallerContext } from '../../graphql/access.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { toApiKey } from './api-key.mapper.js';
import { ApiKeyScopeEnum, ApiKey, CreatedApiKey } from './api-key.type.js';
import type { ApiKeyScope } from './api-key.scope.js';

@Resolver(() => ApiKey)
export class ApiKeyResolver {
  @Mutation(() => CreatedApiKey, { description: 'Admins only. The token is in this response and nowhere else.' })
  async createApiKey(
    @Arg('applicationId', () => ID) applicationId: string,
    @Arg('name', () => String) name: string,
    @Arg('scope', () => ApiKeyScopeEnum, { defaultValue: 'READ' }) scope: ApiKeyScope,
    @Arg('expiresInDays', () => Int, { nullable: true, description: '1 to 3650; without it the key does not expire.' }) expiresInDays: number | null,
    @Caller('admin') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
  ): Promise<CreatedApiKey> {
    const { key, token } = await ctx.services.apiKeys.create(rc, applicationId, name, scope, expiresInDays);
    return { apiKey: toApiKey(key), token };
  }

  @Mutation(() => ApiKey, { description: 'Admins only. Takes effect on the next request; revoking a revoked key changes nothing.' })
  async revokeApiKey(@Arg('id', () => ID) id: string, @Caller('admin') rc: CallerContext, @Ctx() ctx: GraphQLContext): Promise<ApiKey> {
    return toApiKey(await ctx.services.apiKeys.revoke(rc, id));
  }
}
