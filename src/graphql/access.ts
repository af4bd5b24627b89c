/**
 * The role a field needs, declared once per resolver method: the decorator both enforces it in
 * this subgraph (through `caller`) and records it, so the printed SDL carries the matching
 * `@authenticated` or `@requiresScopes(...)` for a router to enforce too (docs/federation.md,
 * "Authorization in the router"). There is no second list of protected fields to keep in step.
 */
import { Kind, parse, visit, isObjectType, type ConstDirectiveNode, type DocumentNode, type GraphQLSchema, type ObjectTypeDefinitionNode, type ScalarTypeDefinitionNode } from 'graphql';
import { createParameterDecorator, Extensions, UseMiddleware } from 'type-graphql';
import { hasRole, ROLES, rolesAtOrAbove, type Role } from '../auth/principal.js';
import { scopeAlternatives } from '../auth/scopes.js';
import { caller, type GraphQLContext } from './context.js';

/** The key under which a field's declared role sits in its GraphQL `extensions`. */
export const ROLE_EXTENSION = 'requiredRole';

/** What `caller` returns: the principal, checked, and the request's meta. */
export type CallerContext = ReturnType<typeof caller>;

const declared = new WeakMap<object, Map<string, Role>>();

function declareRole(prototype: object, key: string | symbol, role: Role): void {
  if (typeof key !== 'string') throw new Error('role rules need a named resolver method');
  const roles = declared.get(prototype) ?? new Map<string, Role>();
  declared.set(prototype, roles);
  const before = roles.get(key);
  if (before && before !== role) {
    throw new Error(`${prototype.constructor.name}.${key} declares both the ${before} and the ${role} role: declare one`);
  }
  roles.set(key, role);
  Extensions({ [ROLE_EXTENSION]: role })(prototype, key);
}

/**
 * A parameter: the caller of the request, checked for `role` before the resolver runs
 * (UNAUTHENTICATED without a valid token, FORBIDDEN without the role).
 */
export function Caller(role: Role): ParameterDecorator {
  const resolve = createParameterDecorator<GraphQLContext>(({ context }) => caller(context, role));
  return (prototype, key, index) => {
    declareRole(prototype, key!, role);
    resolve(prototype, key!, index);
  };
}

/** A method whose body does not need the caller: checked for `role` before it runs, as with `@Caller`. */
export function Requires(role: Role): MethodDecorator {
  const check = UseMiddleware(({ context }, next) => {
    caller(context as GraphQLContext, role);
    return next();
  });
  return (prototype, key, descriptor) => {
    declareRole(prototype, key, role);
    check(prototype, key, descriptor);
  };
}

/** A field that resolves to null, not an error, for a caller without `role` (e.g. `Connector.vaultPath`). */
export function NullUnless(role: Role): MethodDecorator {
  const filter = UseMiddleware(async ({ context }, next) => {
    const { principal, authError } = context as GraphQLContext;
    return principal && !authError && hasRole(principal, role) ? next() : null;
  });
  return (prototype, key, descriptor) => {
    declareRole(prototype, key, role);
    filter(prototype, key, descriptor);
  };
}

/**
 * The directive for a check of `role`. The lowest role, which every reader has, is `@authenticated`:
 * the router lets any valid token through and this subgraph checks the role. Above it,
 * `@requiresScopes` with one alternative per role that passes (docs/federation.md).
 */
export function authDirectivesFor(role: Role): string {
  if (role === ROLES[0]) return '@authenticated';
  const scopes = scopeAlternatives(role).map((all) => `[${all.map((s) => JSON.stringify(s)).join(', ')}]`).join(', ');
  return `@requiresScopes(scopes: [${scopes}])`;
}

const directiveNodes = new Map<Role, readonly ConstDirectiveNode[]>();

function nodesFor(role: Role): readonly ConstDirectiveNode[] {
  let nodes = directiveNodes.get(role);
  if (!nodes) {
    const [definition] = parse(`scalar X ${authDirectivesFor(role)}`, { noLocation: true }).definitions;
    nodes = (definition as ScalarTypeDefinitionNode).directives ?? [];
    directiveNodes.set(role, nodes);
  }
  return nodes;
}

function stricter(a: Role | undefined, b: Role | undefined): Role | undefined {
  if (!a || !b) return a ?? b;
  return rolesAtOrAbove(a).includes(b) ? b : a;
}

/** The fields named by the type's `@key` directives (this subgraph keys on plain fields). */
function keyFields(node: ObjectTypeDefinitionNode): Set<string> {
  const fields = new Set<string>();
  for (const directive of node.directives ?? []) {
    if (directive.name.value !== 'key') continue;
    const arg = directive.arguments?.find((a) => a.name.value === 'fields');
    if (arg?.value.kind === Kind.STRING) for (const f of arg.value.value.split(/[\s{}]+/)) if (f) fields.add(f);
  }
  return fields;
}

/**
 * Adds the auth directives to `typeDefs` (printed from `schema`): on each field whose resolver
 * declared a role, and on every non-key field of an entity whose references need a role
 * (`entityRoles`), so a router refuses an `_entities` fetch the subgraph would refuse. A field
 * with both gets the stricter role.
 */
export function withAuthDirectives(typeDefs: DocumentNode, schema: GraphQLSchema, entityRoles: Readonly<Record<string, Role>>): DocumentNode {
  return visit(typeDefs, {
    ObjectTypeDefinition(node) {
      const type = schema.getType(node.name.value);
      if (!isObjectType(type) || !node.fields) return undefined;
      const keys = keyFields(node);
      const entityRole = entityRoles[node.name.value];
      const fields = node.fields.map((field) => {
        const own = type.getFields()[field.name.value]?.extensions?.[ROLE_EXTENSION] as Role | undefined;
        const role = stricter(own, keys.has(field.name.value) ? undefined : entityRole);
        return role ? { ...field, directives: [...(field.directives ?? []), ...nodesFor(role)] } : field;
      });
      return { ...node, fields };
    },
  });
}
