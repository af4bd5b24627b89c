export const CONNECTOR_SCOPES = ['ORG', 'GROUP', 'USER'] as const;
export type ConnectorScope = (typeof CONNECTOR_SCOPES)[number];

export const HEALTH_STATUSES = ['PENDING', 'HEALTHY', 'DEGRADED', 'FAILING', 'PAUSED'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

export const RUN_STATES = ['STARTING', 'RUNNING', 'STOPPING', 'STOPPED', 'FAILED'] as const;
export type RunState = (typeof RUN_STATES)[number];

export const SOURCE_TYPES = ['FRONTEND', 'BACKEND', 'SERVER', 'SYSTEM', 'API'] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];
