import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { Caller, type CallerContext } from '../../graphql/access.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { boundPage } from '../../graphql/pagination.js';
import type { DeliveryRow, DeliveryStatus } from './notification.service.js';
import { ENDPOINTS_PER_TENANT, type WebhookEndpointRow } from './webhook-endpoint.service.js';
import { toWebhookEndpoint as toEndpoint } from './webhook.mapper.js';
import {
  CreateWebhookEndpointInput,
  CreatedWebhookEndpoint,
  UpdateWebhookEndpointInput,
  WebhookDelivery,
  WebhookDeliveryConnection,
  WebhookDeliveryStatusEnum,
  WebhookEndpoint,
} from './webhook.type.js';

/** The answer that carries the signing secret, under its name and its deprecated one. */
function withSecret(endpoint: WebhookEndpointRow, secret: string): CreatedWebhookEndpoint {
  return Object.assign(new CreatedWebhookEndpoint(), { endpoint: toEndpoint(endpoint), secret, signingSecret: secret });
}

function toDelivery(row: DeliveryRow): WebhookDelivery {
  return Object.assign(new WebhookDelivery(), row);
}

/** Webhook endpoints and their delivery logs: admins only (URLs may carry tokens of the receiver). */
@Resolver(() => WebhookEndpoint)
export class WebhookResolver {
  @Query(() => [WebhookEndpoint], {
    description: `Every webhook endpoint you can see (the tenant's; an application token: its application's), newest first. Not paged: a tenant has at most ${ENDPOINTS_PER_TENANT} endpoints (creating one more is BAD_USER_INPUT).`,
  })
  async webhookEndpoints(@Caller('admin') rc: CallerContext, @Ctx() ctx: GraphQLContext): Promise<WebhookEndpoint[]> {
    return (await ctx.services.webhookEndpoints.list(rc.principal)).map(toEndpoint);
  }

  @Query(() => WebhookEndpoint, { nullable: true })
  async webhookEndpoint(@Arg('id', () => ID) id: string, @Caller('admin') rc: CallerContext, @Ctx() ctx: GraphQLContext): Promise<WebhookEndpoint | null> {
    const row = await ctx.services.webhookEndpoints.get(rc.principal, id);
    return row && toEndpoint(row);
  }

  @Query(() => WebhookDeliveryConnection, {
    description: 'An endpoint\'s delivery log, newest first; first or last ≤ 100 (neither: first 50). Cursors page only the log (endpoint and status filter) they came from.',
  })
  async webhookDeliveries(
    @Arg('endpointId', () => ID) endpointId: string,
    @Arg('status', () => [WebhookDeliveryStatusEnum], { nullable: true }) status: DeliveryStatus[] | null,
    @Arg('first', () => Int, { nullable: true, description: 'Forwards from after; default 50 unless last is given.' }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('last', () => Int, { nullable: true, description: 'Backwards from before (or from the oldest delivery).' }) last: number | null,
    @Arg('before', () => String, { nullable: true }) before: string | null,
    @Caller('admin') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
  ): Promise<WebhookDeliveryConnection> {
    const { rows, window } = await ctx.services.notifications.deliveries(rc.principal, endpointId, { first, after, last, before }, status);
    return boundPage(rows, window, (row) => row.id, toDelivery, new WebhookDeliveryConnection());
  }

  @Mutation(() => CreatedWebhookEndpoint, {
    description: `The signing secret is in this response and nowhere else. At most ${ENDPOINTS_PER_TENANT} endpoints per tenant: one more is BAD_USER_INPUT, nothing created.`,
  })
  async createWebhookEndpoint(
    @Arg('input', () => CreateWebhookEndpointInput) input: CreateWebhookEndpointInput,
    @Caller('admin') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
  ): Promise<CreatedWebhookEndpoint> {
    const { endpoint, secret } = await ctx.services.webhookEndpoints.create(rc, input);
    return withSecret(endpoint, secret);
  }

  @Mutation(() => WebhookEndpoint)
  async updateWebhookEndpoint(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateWebhookEndpointInput) input: UpdateWebhookEndpointInput,
    @Arg('expectedVersion', () => Int, { nullable: true }) expectedVersion: number | null,
    @Caller('admin') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
  ): Promise<WebhookEndpoint> {
    return toEndpoint(await ctx.services.webhookEndpoints.update(rc, id, input, expectedVersion));
  }

  @Mutation(() => WebhookEndpoint, { description: 'Deletes the endpoint, its delivery log and its secret.' })
  async deleteWebhookEndpoint(@Arg('id', () => ID) id: string, @Caller('admin') rc: CallerContext, @Ctx() ctx: GraphQLContext): Promise<WebhookEndpoint> {
    return toEndpoint(await ctx.services.webhookEndpoints.delete(rc, id));
  }

  @Mutation(() => CreatedWebhookEndpoint, { description: 'A new signing secret, in this response only; the old one stops signing at once.' })
  async rotateWebhookSecret(@Arg('id', () => ID) id: string, @Caller('admin') rc: CallerContext, @Ctx() ctx: GraphQLContext): Promise<CreatedWebhookEndpoint> {
    const { endpoint, secret } = await ctx.services.webhookEndpoints.rotateSecret(rc, id);
    return withSecret(endpoint, secret);
  }

  @Mutation(() => WebhookDelivery, { description: 'Sends a webhook.test event to the endpoint now; answers with that attempt (not retried).' })
  async sendTestWebhook(@Arg('endpointId', () => ID) endpointId: string, @Caller('admin') rc: CallerContext, @Ctx() ctx: GraphQLContext): Promise<WebhookDelivery> {
    return toDelivery(await ctx.services.notifications.sendTest(rc, endpointId));
  }

  @Mutation(() => WebhookDelivery, { description: 'Sends a delivery\'s event again, as a new delivery with the same webhook-id.' })
  async redeliverWebhook(@Arg('deliveryId', () => ID) deliveryId: string, @Caller('admin') rc: CallerContext, @Ctx() ctx: GraphQLContext): Promise<WebhookDelivery> {
    return toDelivery(await ctx.services.notifications.redeliver(rc, deliveryId));
  }
}
