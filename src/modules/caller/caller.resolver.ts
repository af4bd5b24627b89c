/**
 * `me`: who the caller is, as its verified token says, and what it may do. A client (the console,
 * src/console/) shows only the buttons the caller may press from this answer rather than from a
 * token it decoded itself; the API still checks every call.
 */
import { Field, ObjectType, Query, Resolver } from 'type-graphql';
import { capabilitiesOf } from '../../auth/scopes.js';
import { Caller, type CallerContext } from '../../graphql/access.js';

@ObjectType({ description: 'The caller of this request, from its verified token.' })
export class CallerInfo {
  @Field(() => String) tenantId!: string;
  @Field(() => String, { description: 'The token\'s subject: a person, or an API key id.' }) subject!: string;
  @Field(() => String, { nullable: true }) email!: string | null;
  @Field(() => String, { description: 'USER or APPLICATION.' }) actorType!: string;
  @Field(() => String, { nullable: true, description: 'Application tokens only: every read and write is limited to this application.' }) appId!: string | null;
  @Field(() => [String], { description: 'viewer, editor, admin: as granted by the token.' }) roles!: string[];
  @Field(() => [String], { description: 'The scopes of the roles the token grants (a role includes those below it): connectors:read, connectors:write, connectors:admin.' }) scopes!: string[];
  @Field(() => Boolean, { description: 'May create, update, toggle, test and sync connectors (editor or admin).' }) canWrite!: boolean;
  @Field(() => Boolean, { description: 'May manage credentials, applications, API keys, webhooks and purges (admin).' }) canAdmin!: boolean;
}

@Resolver()
export class CallerResolver {
  @Query(() => CallerInfo, { description: 'Who is calling and what they may do, from the verified token (any role).' })
  me(@Caller('viewer') { principal }: CallerContext): CallerInfo {
    return {
      tenantId: principal.tenantId,
      subject: principal.subject,
      email: principal.email,
      actorType: principal.actorType,
      appId: principal.appId,
      ...capabilitiesOf(principal),
    };
  }
}
