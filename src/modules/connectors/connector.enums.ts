export const CONNECTOR_SCOPES = ['ORG', 'GROUP', 'USER'] as const;
export type ConnectorScope = (typeof CONNECTOR_SCOPES)[number];

export const HEALTH_STATUSES = ['PENDING', 'HEALTHY', 'DEGRADED', 'FAILING', 'PAUSED'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

export const RUN_STATES = ['STARTING', 'RUNNING', 'STOPPING', 'STOPPED', 'FAILED'] as const;
export type RunState = (typeof RUN_STATES)[number];

/** Where a write came from: defined with the request context (src/context/request-context.ts), which declares it. */
export { SOURCE_TYPES, type SourceType } from '../../context/request-context.js';
