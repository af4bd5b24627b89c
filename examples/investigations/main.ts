/**
 * Runs the investigations example subgraph (docker-compose.yml, docs/federation.md).
 *
 *   PORT           default 4002
 *   HOST           default 0.0.0.0
 *   CONNECTOR_IDS  comma-separated connector ids the alerts reference (e.g. ids from
 *                  `connectors { nodes { id } }`); without them the alerts have no connector
 *   ALERT_COUNT    default 200
 */
import { seedInvestigations } from './data.js';
import { startInvestigationsSubgraph } from './server.js';

const port = Number(process.env.PORT ?? 4002);
const host = process.env.HOST ?? '0.0.0.0';
const count = Number(process.env.ALERT_COUNT ?? 200);
if (!Number.isInteger(port) || port < 0 || port > 65535 || !Number.isInteger(count) || count < 0) {
  console.error('PORT must be a port number and ALERT_COUNT a non-negative integer');
  process.exit(2);
}
const connectorIds = (process.env.CONNECTOR_IDS ?? '')
  .split(',')
  .map((id) => id.trim())
  .filter(Boolean);

const subgraph = await startInvestigationsSubgraph({ data: seedInvestigations(connectorIds, { count, newest: new Date() }), port, host });
console.log(`investigations subgraph ready at ${subgraph.url} (${count} alerts over ${connectorIds.length} connector ids)`);

const stop = () => {
  subgraph.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
