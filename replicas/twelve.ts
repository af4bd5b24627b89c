/**
 * The twelve upstreams of issue 23's story, on loopback: two SIEMs, four threat-intel feeds, three
 * OSINT services, a blockchain node and two customers' own REST APIs, split over two tenants
 * (`acme` and `globex`), with the connector input for each and the handles that drive them: new
 * items for every upstream, and for the `splunk` SIEM a `flood` switch (it re-sends one alert
 * many times: the same notable on page after page) and a `fixed` switch (each alert once again).
 *
 * One place for the end-to-end test (test/e2e/twelve-sources.test.ts, ephemeral ports) and
 * `npm run demo` (fixed ports). Every server is a real one: the vendor replicas of replicas/, a
 * ganache node for `ethereum`, and a real OAuth 2.0 authorization server (replicas/oidc.ts) for
 * the custom API that takes client credentials. `generic_rest` is the provider both tenants use,
 * each against its own API with its own credential.
 */
import { parseEther, type Address } from 'viem';
import { ReplicaServer, authToken, hasValidBearer, serve, type ReplicaModule, type ReplicaOptions, type StartedReplica, type ReplicaConnection, type BearerVerifier, type SeenReplicaRequest } from './base.js';
import { startAuthorizationServer, type AuthorizationServer } from './oidc.js';
import { startEthereumReplica, type EthNode } from './ethereum.js';
import { replica as splunk } from './splunk.js';
import { replica as ibmQradar } from './ibm_qradar.js';
import { replica as misp } from './misp.js';
import { replica as alienvaultOtx } from './alienvault_otx.js';
import { replica as abusechThreatfox } from './abusech_threatfox.js';
import { replica as taxii21 } from './taxii21.js';
import { replica as shodan } from './shodan.js';
import { replica as virustotal } from './virustotal.js';
import { replica as greynoise } from './greynoise.js';

export type Tenant = 'acme' | 'globex';
export type UpstreamCategory = 'SIEM' | 'THREAT_INTEL' | 'OSINT' | 'BLOCKCHAIN' | 'CUSTOM_API';

/** `createConnector`'s input for one upstream (pass it as `input`; enabled is left to the caller). */
export interface ConnectorInput {
  provider: string;
  name: string;
  authType: ReplicaConnection['authType'];
  credentials: Record<string, string>;
  config: Record<string, unknown>;
}

export interface Upstream {
  /** Stable key: `splunk`, `qradar`, `misp`, `otx`, `threatfox`, `taxii`, `shodan`, `virustotal`, `greynoise`, `ethereum`, `acme-api`, `globex-api`. */
  key: string;
  tenant: Tenant;
  category: UpstreamCategory;
  /** The provider's type as the catalog lists it (SIEM, THREAT_INTEL, OSINT, BLOCKCHAIN, CUSTOM). */
  type: string;
  /** Where it listens. */
  url: string;
  input: ConnectorInput;
  /** Makes `n` new upstream items (ethereum: `n` transfers to the watched address, confirmed). */
  addItems(n: number): Promise<void>;
  /** Items the upstream serves now (ethereum: transfers made to the watched address). */
  itemCount(): number;
  /** How many HTTP requests the upstream saw (ethereum: 0, the node keeps no log). */
  requests(): number;
  /** The HTTP requests the upstream saw, oldest first (ethereum: none). */
  requestLog(): SeenReplicaRequest[];
}

/** The SIEM that floods: `splunk`, in tenant `acme`. */
export interface FloodingSiem {
  key: 'splunk';
  /** Whether it is re-sending now. */
  readonly flooding: boolean;
  /** One new alert, served `copies` times over (same event_id, time, bucket and offset); returns it (a Splunk notable). */
  flood(copies?: number): Record<string, unknown>;
  /** The upstream is fixed: the repeats are gone, each alert served once. */
  fixed(): void;
}

export interface TwelveOptions {
  /**
   * First of twelve fixed ports (one up per upstream, in the order of `TWELVE`, the ethereum node
   * on the eleventh above, the authorization server on the twelfth); omitted: ephemeral ports.
   */
  basePort?: number;
  /** Seconds between runs in every polled connector's config (default 60). */
  syncIntervalSec?: number;
  /** Seconds between health checks in every connector's config (default 300). */
  healthCheckIntervalSec?: number;
  /** Items per page the connectors ask for where the provider lets them (default 10). */
  pageSize?: number;
  /** Copies `flood()` serves when not told (default 150). */
  floodCopies?: number;
  /**
   * The duplicate-flood policy on the SIEM's connector (operations.ts); default: on, with
   * auto-disable, ratio 0.5, at least 100 records. `null`: no policy in the config.
   */
  floodPolicy?: { duplicateFloodRatio: number; duplicateFloodMinRecords: number; duplicateFloodAutoDisable: boolean } | null;
}

export interface Twelve {
  upstreams: Upstream[];
  /** The upstream with this key (throws on an unknown one). */
  get(key: string): Upstream;
  /** The upstreams of one tenant, in order. */
  of(tenant: Tenant): Upstream[];
  siem: FloodingSiem;
  authorizationServer: AuthorizationServer;
  ethereum: EthNode;
  close(): Promise<void>;
}

/** The twelve, in order: which replica, which tenant, what kind. */
export const TWELVE: ReadonlyArray<{ key: string; tenant: Tenant; category: UpstreamCategory; provider: string; name: string }> = [
  { key: 'splunk', tenant: 'acme', category: 'SIEM', provider: 'splunk', name: 'Splunk ES notables (SOC)' },
  { key: 'qradar', tenant: 'globex', category: 'SIEM', provider: 'ibm_qradar', name: 'QRadar offenses' },
  { key: 'misp', tenant: 'acme', category: 'THREAT_INTEL', provider: 'misp', name: 'MISP community feed' },
  { key: 'otx', tenant: 'acme', category: 'THREAT_INTEL', provider: 'alienvault_otx', name: 'AlienVault OTX pulses' },
  { key: 'threatfox', tenant: 'globex', category: 'THREAT_INTEL', provider: 'abusech_threatfox', name: 'ThreatFox IOCs' },
  { key: 'taxii', tenant: 'acme', category: 'THREAT_INTEL', provider: 'taxii21', name: 'TAXII 2.1 indicators' },
  { key: 'shodan', tenant: 'acme', category: 'OSINT', provider: 'shodan', name: 'Shodan exposure' },
  { key: 'virustotal', tenant: 'acme', category: 'OSINT', provider: 'virustotal', name: 'VirusTotal hunting' },
  { key: 'greynoise', tenant: 'globex', category: 'OSINT', provider: 'greynoise', name: 'GreyNoise scanners' },
  { key: 'ethereum', tenant: 'acme', category: 'BLOCKCHAIN', provider: 'ethereum', name: 'Treasury wallet (Ethereum)' },
  { key: 'acme-api', tenant: 'acme', category: 'CUSTOM_API', provider: 'generic_rest', name: 'Acme asset inventory API' },
  { key: 'globex-api', tenant: 'globex', category: 'CUSTOM_API', provider: 'generic_rest', name: 'Globex ticketing API' },
];

const MODULES: Record<string, ReplicaModule> = {
  splunk,
  ibm_qradar: ibmQradar,
  misp,
  alienvault_otx: alienvaultOtx,
  abusech_threatfox: abusechThreatfox,
  taxii21,
  shodan,
  virustotal,
  greynoise,
};

const TYPES: Record<UpstreamCategory, string> = { SIEM: 'SIEM', THREAT_INTEL: 'THREAT_INTEL', OSINT: 'OSINT', BLOCKCHAIN: 'BLOCKCHAIN', CUSTOM_API: 'CUSTOM' };

/**
 * Starts `module`'s replica, on `port` when given (replicas start on an ephemeral one and move),
 * accepting the authorization server's access tokens besides the vendor's credential.
 */
export async function startReplicaOn(module: ReplicaModule, options: ReplicaOptions, port?: number): Promise<StartedReplica> {
  return moveTo(await module.start(options), port);
}

/** Moves a started replica to `port` (none: it stays where it is). */
async function moveTo(replica: StartedReplica, port: number | undefined): Promise<StartedReplica> {
  if (port === undefined) return replica;
  await replica.server.close();
  await replica.server.start('127.0.0.1', port);
  (replica as { url: string }).url = replica.server.url;
  return replica;
}

/**
 * The connection to put in a connector: the replica's own, or, for a vendor that takes OAuth 2.0
 * client credentials only (Entra ID), the authorization server's client and token endpoint.
 */
export function connectorConnection(replica: StartedReplica, as: AuthorizationServer): ReplicaConnection {
  const c = replica.connection();
  const config: Record<string, unknown> = { ...c.config, baseUrl: replica.server.url };
  if (c.authType === 'OAUTH2_CLIENT_CREDENTIALS' && !c.credentials.clientId) {
    return { authType: c.authType, credentials: { clientId: as.clientId, clientSecret: as.clientSecret }, config: { ...config, tokenUrl: as.tokenUrl, scope: as.scope } };
  }
  return { ...c, config };
}

interface CustomItem {
  id: string;
  title: string;
  severity: number;
  seen: string;
}

/**
 * A customer's own REST API, as `generic_rest` reads one: `GET /items?since=<ISO 8601>&page=N`, a
 * JSON array per page with an RFC 8288 `Link: <…>; rel="next"`, oldest first; authorized by an
 * API key in `X-API-Key` or by an access token of the authorization server (`verifyBearer`).
 */
export async function startCustomApi(prefix: string, auth: { apiKey: string } | { verifyBearer: BearerVerifier }, options: { items?: number; pageSize?: number } = {}): Promise<StartedReplica> {
  const pageSize = options.pageSize ?? 10;
  const items: CustomItem[] = [];
  const titles = ['login from new country', 'asset without EDR', 'expired certificate', 'open RDP port', 'stale admin account'];
  const add = (n: number, at = (i: number) => Date.now() - 1000 - (n - 1 - i) * 1000) => {
    for (let i = 0; i < n; i++) {
      const index = items.length;
      const last = items.length ? Date.parse(items[items.length - 1]!.seen) : 0;
      items.push({ id: `${prefix}-${index}`, title: `${prefix}: ${titles[index % titles.length]}`, severity: 1 + (index % 9), seen: new Date(Math.max(last + 1, at(i))).toISOString() });
    }
  };
  // The first items over the last hour, a minute apart.
  add(options.items ?? 15, (i) => Date.now() - 60_000 * ((options.items ?? 15) - i));
  const server = new ReplicaServer(`${prefix}-api`);
  server.route('GET', '/items', async (req) => {
    const ok = 'apiKey' in auth ? req.headers['x-api-key'] === auth.apiKey : authToken(req.headers, 'Bearer') !== null && (await hasValidBearer(req.headers, auth.verifyBearer));
    if (!ok) return { status: 401, body: { error: 'unauthorized', message: 'API key or access token missing or invalid' } };
    const since = req.query.get('since');
    const from = since ? Date.parse(since) : NaN;
    const selected = Number.isNaN(from) ? items : items.filter((item) => Date.parse(item.seen) >= from);
    const page = Math.max(1, Number(req.query.get('page') ?? '1') || 1);
    const start = (page - 1) * pageSize;
    const headers: Record<string, string> = {};
    if (start + pageSize < selected.length) {
      const next = server.urlOf(req, 'page');
      next.searchParams.set('page', String(page + 1));
      headers.link = `<${next.href}>; rel="next"`;
    }
    return { headers, body: selected.slice(start, start + pageSize) };
  });
  const credentials: Record<string, string> = 'apiKey' in auth ? { apiKey: auth.apiKey } : {};
  return serve(server, {
    authType: 'apiKey' in auth ? 'API_KEY' : 'OAUTH2_CLIENT_CREDENTIALS',
    credentials,
    wrongCredentials: 'apiKey' in auth ? { apiKey: `${auth.apiKey}-revoked` } : {},
    config: () => ({
      path: '/items',
      query: { since: '{{window.start}}' },
      cursor: { field: '/seen', type: 'datetime', lookback: 0 },
      dedupKey: ['/eventId'],
      map: { kind: 'event', fields: { eventId: '/id', name: '/title', severity: '/severity', timestamp: { from: '/seen', type: 'datetime' } } },
    }),
    oauthConfig: null,
    addItems: (n) => add(n),
    items: () => items.map((item) => ({ ...item })),
  });
}

/** Starts the twelve upstreams (and the authorization server); `close()` stops them all. */
export async function startTwelve(options: TwelveOptions = {}): Promise<Twelve> {
  const portOf = (i: number) => (options.basePort === undefined ? undefined : options.basePort + i);
  const syncIntervalSec = options.syncIntervalSec ?? 60;
  const healthCheckIntervalSec = options.healthCheckIntervalSec ?? 300;
  const pageSize = options.pageSize ?? 10;
  const floodPolicy = options.floodPolicy === undefined ? { duplicateFloodRatio: 0.5, duplicateFloodMinRecords: 100, duplicateFloodAutoDisable: true } : options.floodPolicy;
  const closers: Array<() => Promise<void>> = [];
  const as = await startAuthorizationServer({ port: portOf(TWELVE.length) });
  closers.push(() => as.close());
  try {
    const upstreams: Upstream[] = [];
    let splunkReplica: StartedReplica | null = null;
    let ethereum: EthNode | null = null;
    for (const [i, spec] of TWELVE.entries()) {
      const schedule = { syncIntervalSec, healthCheckIntervalSec };
      const base = { key: spec.key, tenant: spec.tenant, category: spec.category, type: TYPES[spec.category] };
      if (spec.provider === 'ethereum') {
        const eth = await startEthereumReplica(portOf(i) ?? 0);
        ethereum = eth.node;
        closers.push(() => eth.node.close());
        const [funder, watched] = eth.node.accounts as [Address, Address];
        let transfers = 2;
        upstreams.push({
          ...base,
          url: eth.node.url,
          input: { provider: 'ethereum', name: spec.name, authType: 'NONE', credentials: {}, config: { ...eth.connection.config, ...schedule } },
          async addItems(n) {
            for (let k = 0; k < n; k++) await eth.node.sendEth(funder, watched, parseEther('0.01'));
            transfers += n;
            // Enough blocks on top for the connector's confirmations.
            await eth.node.mine(Number(eth.connection.config.confirmations ?? 2) + 1);
          },
          itemCount: () => transfers,
          requests: () => 0,
          requestLog: () => [],
        });
        continue;
      }
      let replica: StartedReplica;
      if (spec.provider === 'generic_rest') {
        const auth = spec.tenant === 'acme' ? { apiKey: 'acme-inventory-key-7f3a9c2e51d04b68' } : { verifyBearer: as.verify };
        replica = await moveTo(await startCustomApi(spec.tenant, auth, { pageSize }), portOf(i));
      } else {
        replica = await startReplicaOn(MODULES[spec.provider]!, { verifyBearer: as.verify }, portOf(i));
      }
      closers.push(() => replica.close());
      let connection = connectorConnection(replica, as);
      if (spec.provider === 'generic_rest' && connection.authType === 'OAUTH2_CLIENT_CREDENTIALS') {
        connection = { ...connection, credentials: { clientId: as.clientId, clientSecret: as.clientSecret }, config: { ...connection.config, tokenUrl: as.tokenUrl, scope: as.scope } };
      }
      const config: Record<string, unknown> = { ...connection.config, ...schedule };
      if ('pageSize' in config) config.pageSize = pageSize;
      if (spec.key === 'splunk') {
        splunkReplica = replica;
        if (floodPolicy) Object.assign(config, floodPolicy);
      }
      upstreams.push({
        ...base,
        url: replica.server.url,
        input: { provider: spec.provider, name: spec.name, authType: connection.authType, credentials: connection.credentials, config },
        addItems: async (n) => replica.addItems(n),
        itemCount: () => replica.items().length,
        requests: () => replica.server.requests.length,
        requestLog: () => replica.server.requests,
      });
    }
    const siemReplica = splunkReplica!;
    let flooding = false;
    const siem: FloodingSiem = {
      key: 'splunk',
      get flooding() {
        return flooding;
      },
      flood(copies = options.floodCopies ?? 150) {
        siemReplica.addItems(1);
        siemReplica.repeatNewest!(copies - 1);
        flooding = true;
        return siemReplica.items().at(-1) as Record<string, unknown>;
      },
      fixed() {
        siemReplica.stopRepeating!();
        flooding = false;
      },
    };
    const get = (key: string) => {
      const found = upstreams.find((u) => u.key === key);
      if (!found) throw new Error(`no upstream ${key} among the twelve`);
      return found;
    };
    return {
      upstreams,
      get,
      of: (tenant) => upstreams.filter((u) => u.tenant === tenant),
      siem,
      authorizationServer: as,
      ethereum: ethereum!,
      async close() {
        await Promise.allSettled(closers.reverse().map((c) => c()));
      },
    };
  } catch (error) {
    await Promise.allSettled(closers.reverse().map((c) => c()));
    throw error;
  }
}
