/** The in-memory records of the investigations example subgraph, and a deterministic seed. */

export type AlertSeverity = 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';

export const ALERT_SEVERITIES: readonly AlertSeverity[] = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];

export interface AlertRecord {
  id: string;
  title: string;
  severity: AlertSeverity;
  createdAt: Date;
  /** Id of a `Connector` owned by the connectors subgraph; null for alerts raised by hand. */
  connectorId: string | null;
}

export interface CaseRecord {
  id: string;
  title: string;
  /** Ids of alerts in this data set, in the case's order. */
  alertIds: string[];
}

export interface InvestigationsData {
  alerts: AlertRecord[];
  cases: CaseRecord[];
}

export interface SeedOptions {
  /** How many alerts to make (default 200). */
  count?: number;
  /** Creation time of the newest alert; each next one is a minute older (default 2025-01-01T12:00:00Z). */
  newest?: Date;
  /** How many cases to make, each with up to five consecutive alerts (default 5). */
  cases?: number;
}

/**
 * `count` alerts whose connectors cycle through `connectorIds` (none when the list is empty), newest
 * first, plus a few cases over them. Deterministic: the same input gives the same records.
 */
export function seedInvestigations(connectorIds: readonly string[], options: SeedOptions = {}): InvestigationsData {
  const count = options.count ?? 200;
  const newest = (options.newest ?? new Date('2025-01-01T12:00:00Z')).getTime();
  const alerts: AlertRecord[] = [];
  for (let i = 0; i < count; i++) {
    alerts.push({
      id: `alr_${String(i + 1).padStart(4, '0')}`,
      title: `Alert ${i + 1}`,
      severity: ALERT_SEVERITIES[i % ALERT_SEVERITIES.length]!,
      createdAt: new Date(newest - i * 60_000),
      connectorId: connectorIds.length ? connectorIds[i % connectorIds.length]! : null,
    });
  }
  const cases: CaseRecord[] = [];
  for (let c = 0; c < (options.cases ?? 5) && c * 5 < alerts.length; c++) {
    cases.push({ id: `cas_${String(c + 1).padStart(4, '0')}`, title: `Case ${c + 1}`, alertIds: alerts.slice(c * 5, c * 5 + 5).map((a) => a.id) });
  }
  return { alerts, cases };
}
