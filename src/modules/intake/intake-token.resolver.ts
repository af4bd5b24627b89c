import { Arg, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from 'type-graphql';
import { Caller, Requires, type CallerContext } from '../../graphql/access.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { Connector } from '../connectors/connector.type.js';
import { toIntakeToken } from './intake-token.mapper.js';
import { CreatedIntakeToken, IntakeStats, IntakeToken } from './intake-token.type.js';

@Resolver(() => IntakeToken)
export class IntakeTokenResolver {
  @Mutation(() => CreatedIntakeToken, { description: 'Admins only; push connectors only. The token is in this response and nowhere else.' })
  async createIntakeToken(
    @Arg('connectorId', () => ID) connectorId: string,
    @Arg('name', () => String) name: string,
    @Caller('admin') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
  ): Promise<CreatedIntakeToken> {
    const { intakeToken, token } = await ctx.services.intakeTokens.create(rc, connectorId, name);
    return { intakeToken: toIntakeToken(intakeToken), token };
  }

  @Mutation(() => IntakeToken, { description: 'Admins only. Takes effect on the next request; revoking a revoked token changes nothing.' })
  async revokeIntakeToken(@Arg('id', () => ID) id: string, @Caller('admin') rc: CallerContext, @Ctx() ctx: GraphQLContext): Promise<IntakeToken> {
    return toIntakeToken(await ctx.services.intakeTokens.revoke(rc, id));
  }
}

/** `Connector.intakeTokens`: one statement for every connector of a request. */
@Resolver(() => Connector)
export class ConnectorIntakeTokensResolver {
  @FieldResolver(() => [IntakeToken], { description: 'Push connectors: the intake tokens, revoked ones included, newest first. Never a token. Empty for polled connectors.' })
  @Requires('viewer')
  async intakeTokens(@Root() connector: Connector, @Ctx() ctx: GraphQLContext): Promise<IntakeToken[]> {
    return (await ctx.loaders.connectorIntakeTokens.load(connector.id)).map(toIntakeToken);
  }

  @FieldResolver(() => IntakeStats, { nullable: true, description: 'Push connectors: what the intake received; null before the first message and for polled connectors.' })
  @Requires('viewer')
  async intake(@Root() connector: Connector, @Ctx() ctx: GraphQLContext): Promise<IntakeStats | null> {
    return ctx.loaders.connectorIntakeStats.load(connector.id);
  }
}
