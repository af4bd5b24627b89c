import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { Caller, type CallerContext } from '../../graphql/access.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { page } from '../../graphql/pagination.js';
import type { DeliveryRow, DeliveryStatus } from './notification.service.js';
import type { WebhookEndpointRow } from './webhook-endpoint.service.js';
import {
  CreateWebhookEndpointInput,
  UpdateWebhookEndpointInput,
  WebhookDelivery,
  WebhookDeliveryConnection,
  WebhookDeliveryStatusEnum,
  WebhookEndpoint,
  WebhookEndpointConnection,
  WebhookEndpointWithSecret,
} from './webhook.type.js';

function toEndpoint(row: WebhookEndpointRow): WebhookEndpoint {
  const { tenantId: _tenant, updatedBy: _by, ...visible } = row;
  return Object.assign(new WebhookEndpoint(), visible);
}

function toDelivery(row: DeliveryRow): WebhookDelivery {
  return Object.assign(new WebhookDelivery(), row);
}

/** Webhook endpoints and their delivery logs: admins only (URLs may carry tokens of the receiver). */
@Resolver(() => WebhookEndpoint)
export class WebhookResolver {
  @Query(() => WebhookEndpointConnection, { description: 'Newest first; first ≤ 100.' })
  async webhookEndpoints(
    @Arg('first', () => Int, { defaultValue: 50 }) first: number,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Caller('admin') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
  ): Promise<WebhookEndpointConnection> {
    const rows = await ctx.services.webhookEndpoints.list(rc.principal, first, after);
    return page(rows, first, after, toEndpoint, new WebhookEndpointConnection());
  }

  @Query(() => WebhookEndpoint, { nullable: true })
  async webhookEndpoint(@Arg('id', () => ID) id: string, @Caller('admin') rc: CallerContext, @Ctx() ctx: GraphQLContext): Promise<WebhookEndpoint | null> {
    const row = await ctx.services.webhookEndpoints.get(rc.principal, id);
    return row && toEndpoint(row);
  }

  @Query(() => WebhookDeliveryConnection, { description: 'An endpoint\'s delivery log, newest first; first ≤ 100.' })
  async webhookDeliveries(
    @Arg('endpointId', () => ID) endpointId: string,
    @Arg('status', () => [WebhookDeliveryStatusEnum], { nullable: true }) status: DeliveryStatus[] | null,
    @Arg('first', () => Int, { defaultValue: 50 }) first: number,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Caller('admin') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
  ): Promise<WebhookDeliveryConnection> {
    const rows = await ctx.services.notifications.deliveries(rc.principal, endpointId, first, after, status);
    return page(rows, first, after, toDelivery, new WebhookDeliveryConnection());
  }

  @Mutation(() => WebhookEndpointWithSecret, { description: 'The signing secret is in this response and nowhere else.' })
  async createWebhookEndpoint(
    @Arg('input', () => CreateWebhookEndpointInput) input: CreateWebhookEndpointInput,
    @Caller('admin') rc: CallerContext,
    @Ctx() ctx: GraphQLContext,
  ): Promise<WebhookEndpointWithSecret> {
    const { endpoint, secret } = await ctx.services.webhookEndpoints.create(rc, input);
    return { endpoint: toEndpoint(endpoint), signingSecret: secret };
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

  @Mutation(() => WebhookEndpointWithSecret, { description: 'A new signing secret, in this response only; the old one stops signing at once.' })
  async rotateWebhookSecret(@Arg('id', () => ID) id: string, @Caller('admin') rc: CallerContext, @Ctx() ctx: GraphQLContext): Promise<WebhookEndpointWithSecret> {
    const { endpoint, secret } = await ctx.services.webhookEndpoints.rotateSecret(rc, id);
    return { endpoint: toEndpoint(endpoint), signingSecret: secret };
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
