import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Ctx, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Caller, Requires, type CallerContext } from '../../graphql/access.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { boundPage } from '../../graphql/pagination.js';
import { projectionOf } from '../../graphql/selection.js';
import { ConnectorService } from '../connectors/connector.service.js';
import { ConnectorConnection } from '../connectors/connector.type.js';
import { toApiKey } from './api-key.mapper.js';
import { ApiKey } from './api-key.type.js';
import { toApplication } from './application.mapper.js';
import { Application, ApplicationConnection } from './application.type.js';

/** The Connector fields of a page's nodes and edges; rows come mapped (connector.projection.ts). */
const PAGE = [['nodes'], ['edges', 'node']] as const;
const same = <T>(row: T): T => row;

@Resolver(() => Application)
export class ApplicationResolver {
  @Query(() => Application, { nullable: true })
  @Requires('viewer')
  async application(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<Application | null> {
    const row = await ctx.loaders.application.load(id);
    return row && !row.isDeleted ? toApplication(row) : null;
  }

  @Query(() => ApplicationConnection, { description: 'Newest first; first or last ≤ 200 (neither: first 50). Cursors page only this list.' })
  async applications(
    @Arg('first', () => Int, { nullable: true, description: 'Forwards from after; default 50 unless last is given.' }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('last', () => Int, { nullable: true, description: 'Backwards from before (or from the end of the list).' }) last: number | null,
    @Arg('before', () => String, { nullable: true }) before: string | null,
    @Caller('viewer') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ApplicationConnection> {
    const { principal } = rc;
    const { rows, window, count } = await ctx.services.applications.list(principal, { first, after, last, before });
    return boundPage(rows, window, (row) => row.id, toApplication, Object.assign(new ApplicationConnection(), { countTotal: count }));
  }

  @Mutation(() => Application)
  async createApplication(
    @Arg('name', () => String) name: string,
    @Arg('description', () => String, { nullable: true }) description: string | null,
    @Caller('admin') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Application> {
    return toApplication(await ctx.services.applications.create(rc, name, description));
  }

  @Mutation(() => Application)
  async updateApplication(
    @Arg('id', () => ID) id: string,
    @Arg('expectedVersion', () => Int) expectedVersion: number,
    @Arg('name', () => String, { nullable: true }) name: string | null,
    @Arg('description', () => String, { nullable: true }) description: string | null | undefined,
    @Caller('admin') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Application> {
    ctx.loaders.application.clear(id);
    return toApplication(await ctx.services.applications.update(rc, id, expectedVersion, name, description));
  }

  @Mutation(() => Application, { description: 'Soft delete; refused while connectors still belong to it.' })
  async deleteApplication(@Arg('id', () => ID) id: string, @Caller('admin') rc: CallerContext, @Ctx() ctx: GraphQLContext): Promise<Application> {
    ctx.loaders.application.clear(id);
    return toApplication(await ctx.services.applications.delete(rc, id));
  }

  @FieldResolver(() => [ApiKey], { description: "The application's API keys, revoked ones included, newest first; admins only. Never a token." })
  @Requires('admin')
  async apiKeys(@Root() application: Application, @Ctx() ctx: GraphQLContext): Promise<ApiKey[]> {
    return (await ctx.loaders.applicationApiKeys.load(application.id)).map(toApiKey);
  }

  @FieldResolver(() => ConnectorConnection, {
    description: "The application's visible connectors, newest first; first or last ≤ 200 (neither: first 50). Cursors page only this application's list.",
  })
  async connectors(
    @Root() application: Application,
    @Arg('first', () => Int, { nullable: true, description: 'Forwards from after; default 50 unless last is given.' }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('last', () => Int, { nullable: true, description: 'Backwards from before (or from the end of the list).' }) last: number | null,
    @Arg('before', () => String, { nullable: true }) before: string | null,
    @Caller('viewer') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<ConnectorConnection> {
    const { principal } = rc;
    // Argument errors belong to this field, not to the batch it would have joined.
    const window = ConnectorService.applicationWindow(application.id, { first, after, last, before });
    const rows = await ctx.loaders.applicationConnectors(projectionOf(info, PAGE)).load({ parentId: application.id, window });
    return boundPage(rows, window, (row) => row.id, same, Object.assign(new ConnectorConnection(), { countTotal: () => ctx.services.connectors.countForApplication(principal, application.id) }));
  }
}
