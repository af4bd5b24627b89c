/** GraphQL enums, registered once from the domain's constant lists. */
import { registerEnumType } from 'type-graphql';
import { AUTH_TYPES, CONNECTOR_TYPES, TEST_STEP_NAMES } from '../adapters/spi.js';
import { WEEKDAYS } from '../adapters/schedule.js';
import { ACTOR_TYPES, AUDIT_EVENT_TYPES } from '../modules/audit/audit.enums.js';
import { CONNECTOR_SCOPES, HEALTH_STATUSES, RUN_STATES, SOURCE_TYPES } from '../modules/connectors/connector.enums.js';

function enumOf<T extends string>(values: readonly T[], name: string, description?: string): Record<T, T> {
  const object = Object.fromEntries(values.map((v) => [v, v])) as Record<T, T>;
  registerEnumType(object, { name, description });
  return object;
}

export const ConnectorTypeEnum = enumOf(CONNECTOR_TYPES, 'ConnectorType');
export const ConnectorScopeEnum = enumOf(CONNECTOR_SCOPES, 'ConnectorScope', 'Who sees a connector: the whole tenant, a group, or one user.');
export const HealthStatusEnum = enumOf(HEALTH_STATUSES, 'HealthStatus');
export const RunStateEnum = enumOf(RUN_STATES, 'RunState');
export const SourceTypeEnum = enumOf(SOURCE_TYPES, 'SourceType');
export const AuthTypeEnum = enumOf(AUTH_TYPES, 'AuthType');
export const TestStepNameEnum = enumOf(TEST_STEP_NAMES, 'TestStepName');
export const ActorTypeEnum = enumOf(ACTOR_TYPES, 'ActorType');
export const AuditEventTypeEnum = enumOf(AUDIT_EVENT_TYPES, 'AuditEventType');
export const WeekdayEnum = enumOf(WEEKDAYS, 'Weekday', 'A day of a sync window, in the schedule\'s time zone.');
