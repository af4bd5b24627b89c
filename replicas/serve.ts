/**
 * `npm run replicas`: serves every vendor replica on loopback, each on a fixed port
 * (REPLICAS_PORT, default 7600, then one up per provider in the catalog's order), plus a real OAuth
 * 2.0 authorization server for the client-credentials grant, and prints what to put in a
 * connector. Start the service with `EGRESS_ALLOW=127.0.0.1` so connectors may reach them.
 */
import { ADAPTER_REPLICAS, NODE_REPLICAS, REPLICAS, seedSampleTrails, startCloudTrailStore } from './index.js';
import type { StartedReplica } from './base.js';
import { startAuthorizationServer } from './oidc.js';
import { connectorConnection, startReplicaOn } from './twelve.js';

const ALL = [...REPLICAS, ...ADAPTER_REPLICAS];
const basePort = Number(process.env.REPLICAS_PORT ?? 7600);
if (!Number.isInteger(basePort) || basePort < 1 || basePort > 65535 - ALL.length) {
  console.error('REPLICAS_PORT must be a TCP port with room for one port per replica above it');
  process.exit(2);
}

const as = await startAuthorizationServer();
const started: StartedReplica[] = [];
for (const [i, module] of ALL.entries()) {
  started.push(await startReplicaOn(module, { verifyBearer: as.verify }, basePort + i));
}

const rows = started.map((replica, i) => {
  // Entra ID-only providers: the local authorization server stands in for the identity provider.
  const { authType, credentials, config } = connectorConnection(replica, as);
  return { provider: ALL[i]!.provider, baseUrl: replica.server.url, authType, credentials, config };
});
console.log('Vendor replicas on loopback (start the service with EGRESS_ALLOW=127.0.0.1):\n');
for (const row of rows) {
  console.log(`${row.provider.padEnd(34)} ${row.baseUrl}`);
  console.log(`  authType: ${row.authType}  credentials: ${JSON.stringify(row.credentials)}`);
  console.log(`  config: ${JSON.stringify(row.config)}`);
}
// aws_cloudtrail: s3rver holding sample trails (three days, two accounts, one of them through an
// organization trail), behind a gateway that checks SigV4 like S3 (replicas/aws_cloudtrail.ts).
const cloudTrail = await startCloudTrailStore({ port: basePort + ALL.length });
await seedSampleTrails(cloudTrail);
console.log(`${'aws_cloudtrail'.padEnd(34)} ${cloudTrail.url} (S3, bucket ${cloudTrail.bucket})`);
console.log(`  authType: API_KEY  credentials: ${JSON.stringify({ accessKeyId: cloudTrail.key.accessKeyId, secretAccessKey: cloudTrail.key.secretAccessKey })}`);
console.log(`  config: ${JSON.stringify({ bucket: cloudTrail.bucket, region: cloudTrail.region, endpoint: cloudTrail.url, forcePathStyle: true, lookbackDays: 3 })}`);
// A real Ethereum node (ganache) with a funded watched address, on the usual JSON-RPC port.
const ethereum = await NODE_REPLICAS[0].start(Number(process.env.REPLICAS_ETHEREUM_PORT ?? 8545));
console.log(`${'ethereum'.padEnd(34)} ${ethereum.node.url}  (a ganache node, chain id ${ethereum.node.chainId})`);
console.log(`  authType: NONE  config: ${JSON.stringify(ethereum.connection.config)}`);
console.log(`\nOAuth 2.0 client credentials (any SIEM, endpoint or Okta replica): tokenUrl ${as.tokenUrl}, scope ${as.scope},`);
console.log(`  clientId ${as.clientId}, clientSecret ${as.clientSecret}`);
console.log('\nCtrl-C stops them.');

const stop = async () => {
  await Promise.allSettled([...started.map((r) => r.close()), cloudTrail.close(), ethereum.node.close()]);
  await as.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
