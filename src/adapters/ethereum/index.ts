/**
 * `ethereum`: transfers of watched addresses read straight from an Ethereum node over JSON-RPC
 * 2.0 (https://ethereum.org/en/developers/docs/apis/json-rpc/): native ether transfers and ERC-20
 * `Transfer` events, confirmed blocks only, with reorganisations traced back to the common
 * ancestor. How it reads: ./reader.ts; the records: ./mapper.ts; the JSON-RPC client and its error
 * mapping: ./rpc.ts. No Ethereum library at run time: the calls are plain JSON over the shared
 * HTTP client (egress guard, retries, Retry-After).
 */
import { performance } from 'node:perf_hooks';
import { ConnectorError } from '../../errors/connector-error.js';
import { CheckSteps } from '../check-steps.js';
import { credentialSecrets, validateAuth } from '../http/auth.js';
import { HttpClientError, scrubSecrets } from '../http/client.js';
import { redactSecrets } from '../kit/records.js';
import type { NormalizedRecord } from '../records.js';
import type { Adapter, AdapterContext, AdapterSpec, AuthType, CheckOptions, CheckResult, ConnectionInput, ReadCursor, RecordBatch, TestStepName } from '../spi.js';
import {
  ETHEREUM_AUTH_TYPES,
  assertAuthType,
  configSchema,
  credentialsSchema,
  ETHEREUM_CONFIG_VERSION,
  ethereumConfigProblems,
  migrateEthereumConfig,
  parseConfig,
  requiredCredentials,
} from './config.js';
import type { EthereumConfig } from './config.js';
import { STREAMS, erc20Record, mapContext, nativeCandidates, nativeRecord } from './mapper.js';
import type { TransferRecord } from './mapper.js';
import { WrongChainError, chainHead, fetchBlocks, fetchTransferLogs, readChain, selectedStreams } from './reader.js';
import { RpcClient, RpcError, quantityToNumber } from './rpc.js';

export { parseConfig, configSchema, credentialsSchema, toChecksumAddress, addressProblem, migrateEthereumConfig, ETHEREUM_CONFIG_VERSION } from './config.js';
export type { EthereumConfig } from './config.js';
export { formatUnits, TRANSFER_TOPIC, TRANSFER_DEDUP_KEY, REORG_DEDUP_KEY } from './mapper.js';
export type { TransferRecord, ReorgRecord } from './mapper.js';
export type { EthereumCursor } from './cursor.js';
export { classifyRpcError } from './rpc.js';

/** Confirmed blocks the check's sample query looks at (at most maxBlockRange). */
export const CHECK_SAMPLE_BLOCKS = 100;

const NOTES = `
Reads any Ethereum node (or EVM chain) over **JSON-RPC 2.0** on HTTP(S), through the shared HTTP client and its egress
guard, with no Ethereum library: \`eth_chainId\`, \`eth_blockNumber\`, \`eth_getLogs\`, \`eth_getBlockByNumber\` (with
full transactions) and \`eth_getTransactionReceipt\`, several calls per request as JSON-RPC batch arrays
(\`rpcBatchSize\`; 1 for nodes that refuse batches), all POSTed to \`rpcUrl\`. Auth: none (your own node), \`BEARER\`,
\`API_KEY\` in \`apiKeyHeader\`, or \`BASIC\` for hosted nodes. A provider that puts the key in the path
(\`https://mainnet.infura.io/v3/<project id>\`) works as it is; \`rpcUrl\` may carry a query, but no user name or password,
no fragment and no secret-looking query parameter (\`key\`, \`apiKey\`, \`token\`...): those keys go in the credentials.
Config schema version 1 called \`rpcUrl\` \`baseUrl\`; stored configs are upgraded at start-up.

**How it reads.** Every read first checks \`eth_chainId\` against \`chainId\` and takes \`eth_blockNumber\`; only blocks
up to head − \`confirmations\` (default 12) are read. From the cursor (or \`startBlock\`; without either, the first sync
anchors at the confirmed head and later syncs read what follows) it reads ranges of at most \`maxBlockRange\` blocks, one
batch of records each:

- \`erc20_transfers\`: two \`eth_getLogs\` per range, topic0 = \`Transfer(address,address,uint256)\`
  (\`0xddf252ad…b3ef\`, a constant) and topic1 (from) *or* topic2 (to) = a watched address, \`address\` = the
  \`tokenAllowList\` when set. Logs with four topics (ERC-721) are not ERC-20 transfers and are skipped. When the node
  answers that a range is too large (e.g. -32005 "query returned more than 10000 results"), the range is halved for the
  rest of the read.
- \`native_transfers\`: every block of the range with full transactions; a transaction from or to a watched address with
  value > 0 is a transfer, its receipt says whether it reverted (\`failed\`).
- \`reorgs\`: see below.

**Cursor.** \`{ chainId, block, hash, recentHashes }\`: the last block read, its hash, and the hashes of up to
\`maxReorgDepth\` blocks before it. A cursor of another chain id is ignored (the read starts afresh).

**Reorganisations.** Each read fetches the cursor's block again: if its hash changed, the remembered blocks are fetched
in one batch and the newest one whose hash still matches is the common ancestor; reading resumes after it, so the new
canonical blocks are read. Transfers read from the orphaned blocks are **kept, not deleted**: a \`reorgs\` record (kind
\`event\`, \`eventType: reorgs\`) names the orphaned blocks (number and hash), the common ancestor and the depth, so every
transfer whose \`blockHash\` it lists can be marked by the consumer. A transaction mined again in the new chain keeps
its dedup key and is not stored twice (its stored record keeps the first block's hash until the dedup window passes).
Deeper than \`maxReorgDepth\`: the record says \`beyondMaxDepth: true\` and everything from the oldest remembered block is
read again. Within a read, blocks must chain by \`parentHash\` and logs must name their block's hash; if the chain moves
while it is read, the read stops at the last committed range and the next one walks back.

**Records** (kind \`transaction\`, as the etherscan provider writes them): \`chain\` (\`ethereum\`, \`sepolia\`, … or
\`eip155:<id>\`), \`chainId\`, \`eventType\`, \`hash\`, \`blockNumber\`, \`blockHash\`, \`timestamp\` (the block's, ISO 8601),
\`transactionIndex\`, \`logIndex\` (null for native), \`from\`, \`to\` (lower case), \`value\` (wei or the token's smallest
unit, a decimal string), \`token\` (the contract; null for ether), \`tokenSymbol\`, \`decimals\` and \`amount\` (whole units
as an exact decimal string, computed with integers; for ether always, for a token when \`tokenDecimals\` lists it, else
null), \`direction\` (\`in\`, \`out\`, or \`self\` when both ends are watched) and \`watchedAddress\`, \`failed\`. Dedup key:
chain id + transaction hash + \`native_transfers\` or the log index.
`;

export const spec: AdapterSpec = {
  id: 'ethereum',
  type: 'BLOCKCHAIN',
  name: 'Ethereum node (JSON-RPC)',
  description:
    'Native ether transfers and ERC-20 token transfers of watched addresses, read from any Ethereum (or EVM) node over JSON-RPC 2.0: confirmed blocks only, reorganisations traced back to the common ancestor.',
  authTypes: [...ETHEREUM_AUTH_TYPES],
  configSchema,
  credentialsSchema,
  requiredCredentials,
  eventTypes: [...STREAMS],
  documentationUrl: 'https://ethereum.org/en/developers/docs/apis/json-rpc/',
  recordKinds: ['transaction', 'event'],
  notes: NOTES,
  configVersion: ETHEREUM_CONFIG_VERSION,
  configProblems: ethereumConfigProblems,
  migrateConfig: migrateEthereumConfig,
};

function remediationFor(step: TestStepName, error: ConnectorError, authType: AuthType): string {
  const rpc = error instanceof RpcError ? error : null;
  switch (error.code) {
    case 'EGRESS_DENIED':
      return 'The node is on a private, loopback, link-local or cloud-metadata address, which connectors may not reach. Use its public address, or ask an operator to add it to EGRESS_ALLOW if it is your own internal node.';
    case 'CONFIG_INVALID':
      if (error instanceof WrongChainError) {
        return `Set chainId to ${error.actual} if that is the chain you mean to watch, or point rpcUrl at a node of chain ${error.expected}.`;
      }
      if (rpc?.kind === 'method_not_found') {
        return `The node does not serve ${rpc.method}: enable the eth namespace on its HTTP endpoint (geth --http.api eth, Nethermind JsonRpc.EnabledModules) or use a node or provider that serves ${rpc.method}.`;
      }
      if (rpc?.kind === 'range_too_large') {
        return 'The node refuses eth_getLogs even for a single block: narrow tokenAllowList or the watched addresses, or use a node without a result-size cap. Lowering maxBlockRange saves the halving retries.';
      }
      if (rpc?.kind === 'invalid_params') return `The node refused the parameters of ${rpc.method}: check that it is an up-to-date Ethereum execution client (topic OR-lists and full-transaction blocks are standard).`;
      if (error.status === 404 || error.status === 405 || error.status === 410) return "Check rpcUrl: it must be the node's JSON-RPC endpoint (e.g. http://host:8545, or the provider's https URL).";
      if (error.status !== undefined) return "The node refused the request: check rpcUrl (the node's JSON-RPC endpoint).";
      return "Fix the connector's configuration or credentials as the message says, then test again.";
    case 'AUTH_FAILED':
      switch (authType) {
        case 'BEARER':
          return "The node refused the bearer token: check the provider's API key or token and rotate the connector's credentials.";
        case 'API_KEY':
          return "The node refused the API key: check it and apiKeyHeader (the header your provider reads), or rotate the connector's credentials.";
        case 'BASIC':
          return "The node refused the user name or password: check them or rotate the connector's credentials.";
        default:
          return "The node requires authentication: choose BEARER, API_KEY or BASIC as your provider documents and set the credentials (a key belongs in the credentials, or in rpcUrl's path where your provider puts it there, never in its query).";
      }
    case 'RATE_LIMITED': {
      const wait = error.retryAfterMs !== undefined ? ` in ${Math.ceil(error.retryAfterMs / 1000)} s` : ' later';
      return `The node is rate limiting this client (HTTP 429 or JSON-RPC -32005): test again${wait}, raise syncIntervalSec, lower maxBlockRange or rpcBatchSize (providers count every call of a batch), or use a plan with a higher limit.`;
    }
    case 'TIMEOUT':
      if (step === 'CONNECT') return 'The node did not accept a connection in time: check rpcUrl (host and port) and firewalls.';
      return 'The node did not answer in time: wide eth_getLogs ranges and full blocks are slow; lower maxBlockRange or raise timeoutMs.';
    case 'UNREACHABLE':
      if (error.message.includes('TLS verification')) return "The node's TLS certificate could not be verified: it must be valid for the host and issued by a trusted CA.";
      if (rpc?.kind === 'server') return 'The node failed to answer (a JSON-RPC server error, e.g. not synced or the block pruned): check that it is synced (eth_syncing) and keeps the blocks read; test again later.';
      if (error.status !== undefined) return 'The node (or its gateway) is failing: test again later.';
      return 'The node could not be reached: check rpcUrl (host, port, scheme), that the node serves JSON-RPC over HTTP (geth --http --http.addr), and firewalls.';
    case 'BAD_RESPONSE':
      return "rpcUrl did not answer as an Ethereum JSON-RPC node: point it at the node's HTTP JSON-RPC endpoint.";
    default:
      return 'Test again; if it keeps failing, check the connector configuration.';
  }
}

function asConnectorError(error: unknown, secrets: readonly string[]): ConnectorError {
  if (error instanceof ConnectorError) return error;
  return new ConnectorError('UNREACHABLE', scrubSecrets('Unexpected failure while talking to the node', secrets), { retryable: true });
}

function authMessage(authType: AuthType, status: number): string {
  return authType === 'NONE' ? `No authentication configured; the node did not ask for any (HTTP ${status})` : `The node accepted the credentials (HTTP ${status})`;
}

/**
 * The stepwise test, with as few requests as the steps allow:
 *
 * - `CONNECT`: a socket to the node (after the config and credentials are checked; CONFIG_INVALID otherwise).
 * - `AUTHENTICATE`: the first JSON-RPC batch (`eth_chainId`, `eth_blockNumber`) was not refused (HTTP 401/403 or an
 *   authentication error object).
 * - `SAMPLE_QUERY`: the chain id is the configured one (CONFIG_INVALID naming both otherwise), then the sample: Transfer
 *   logs of the watched addresses over the last {@link CHECK_SAMPLE_BLOCKS} confirmed blocks and the newest confirmed
 *   block with full transactions (one header only for a cheap health check).
 * - `VALIDATE_FORMAT`: blocks and logs have the JSON-RPC shapes; up to 5 transfers, normalized, are the sample.
 */
async function check(ctx: AdapterContext, input: ConnectionInput, options: CheckOptions = {}): Promise<CheckResult> {
  const t0 = performance.now();
  const steps = new CheckSteps();
  const secrets = credentialSecrets(input.credentials ?? {});
  let sample: NormalizedRecord[] = [];
  const sampleSize = options.cheap ? 0 : Math.max(0, Math.min(5, options.sampleSize ?? 5));
  const finish = (): CheckResult => steps.result(t0, sample);
  const fail = (name: TestStepName, ms: number, e: unknown) => {
    const err = asConnectorError(e, secrets);
    steps.fail(name, ms, err, scrubSecrets(err.message, secrets), remediationFor(name, err, input.authType));
  };

  let cfg: EthereumConfig;
  try {
    cfg = parseConfig(input.config);
    assertAuthType(input.authType);
    const invalid = validateAuth({ authType: input.authType, credentials: input.credentials ?? {}, settings: {} });
    if (invalid) throw invalid;
  } catch (e) {
    fail('CONNECT', performance.now() - t0, e);
    return finish();
  }

  const rpc = new RpcClient(ctx, cfg, input);
  const host = rpc.host;
  const r0 = performance.now();
  let head: number;
  try {
    try {
      ({ head } = await chainHead(rpc, cfg));
    } finally {
      // The first exchange's phases are CONNECT and AUTHENTICATE, whatever its result said.
      const first = rpc.first;
      if (first) {
        steps.pass('CONNECT', first.timings.connectMs ?? 0, `Connected to ${host}${first.timings.reusedSocket ? ' (reused connection)' : ''}${first.attempts > 1 ? ` after ${first.attempts} attempts` : ''}`);
      }
    }
  } catch (e) {
    const err = asConnectorError(e, secrets);
    const elapsed = performance.now() - r0;
    const http = err instanceof HttpClientError ? err : null;
    if (!rpc.first) {
      if (!http || http.phase === 'connect' || !http.timings || http.timings.connectMs === null) {
        fail('CONNECT', http?.timings?.totalMs ?? elapsed, err);
        return finish();
      }
      // Connected, but no answer came back.
      steps.pass('CONNECT', http.timings.connectMs, `Connected to ${host}`);
      fail('AUTHENTICATE', http.timings.totalMs - http.timings.connectMs, err);
      return finish();
    }
    const waited = rpc.first.timings.waitMs ?? 0;
    if (err.code === 'AUTH_FAILED' || (http?.phase === 'response' && http.status === undefined)) {
      fail('AUTHENTICATE', waited, err);
      return finish();
    }
    steps.pass('AUTHENTICATE', waited, authMessage(input.authType, rpc.first.status));
    if (err instanceof RpcError && err.kind === 'format') {
      steps.pass('SAMPLE_QUERY', rpc.first.timings.downloadMs ?? 0, `The node answered eth_chainId and eth_blockNumber`);
      fail('VALIDATE_FORMAT', 0, err);
      return finish();
    }
    fail('SAMPLE_QUERY', rpc.first.timings.downloadMs ?? 0, err);
    return finish();
  }
  const first = rpc.first!;
  steps.pass('AUTHENTICATE', first.timings.waitMs ?? 0, authMessage(input.authType, first.status));

  const s0 = performance.now();
  const safe = head - cfg.confirmations;
  const streams = selectedStreams(input.eventTypes);
  const mc = mapContext(cfg);
  const records: TransferRecord[] = [];
  let what: string;
  try {
    if (safe < 0) {
      what = 'no block is confirmed yet';
    } else if (options.cheap) {
      await fetchBlocks(rpc, [safe], false);
      what = `block ${safe} is the newest confirmed`;
    } else {
      const from = Math.max(0, safe - Math.min(cfg.maxBlockRange, CHECK_SAMPLE_BLOCKS) + 1);
      const logs = streams.has('erc20_transfers') ? await fetchTransferLogs(rpc, cfg, from, safe) : [];
      const numbers = [...new Set([safe, ...logs.map((l) => quantityToNumber(l.blockNumber, 'log blockNumber'))])];
      const blocks = await fetchBlocks(rpc, numbers, streams.has('native_transfers'));
      const newest = blocks.get(safe);
      if (newest && streams.has('native_transfers')) for (const tx of nativeCandidates(newest, mc)) records.push(nativeRecord(newest, tx, false, mc));
      for (const l of logs) {
        const block = blocks.get(quantityToNumber(l.blockNumber, 'log blockNumber'));
        const r = block && erc20Record(l, block, mc);
        if (r) records.push(r);
      }
      what = `${records.length} transfer${records.length === 1 ? '' : 's'} of the watched addresses in blocks ${from}–${safe}`;
    }
  } catch (e) {
    if (e instanceof RpcError && e.kind === 'format') {
      steps.pass('SAMPLE_QUERY', performance.now() - s0, `Chain id ${cfg.chainId}; the node answered the sample query`);
      fail('VALIDATE_FORMAT', 0, e);
    } else fail('SAMPLE_QUERY', performance.now() - s0, e);
    return finish();
  }
  steps.pass('SAMPLE_QUERY', performance.now() - s0, `Chain id ${cfg.chainId} as configured; head block ${head} (${cfg.confirmations} confirmations); ${what}`);

  const v0 = performance.now();
  records.sort((a, b) => b.blockNumber - a.blockNumber || (b.logIndex ?? -1) - (a.logIndex ?? -1));
  sample = redactSecrets(records.slice(0, sampleSize), secrets);
  steps.pass('VALIDATE_FORMAT', performance.now() - v0, `The node's blocks and logs have the JSON-RPC shapes${records.length ? `; ${sample.length} transfer${sample.length === 1 ? '' : 's'} normalized` : ''}`);
  return finish();
}

async function* read(ctx: AdapterContext, input: ConnectionInput, cursor: ReadCursor): AsyncIterable<RecordBatch> {
  const cfg = parseConfig(input.config);
  assertAuthType(input.authType);
  yield* readChain(ctx, cfg, input, cursor);
}

export const ethereumAdapter: Adapter = { spec, check, read };
