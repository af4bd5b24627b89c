/**
 * Configuration and credentials of the `ethereum` provider: a JSON-RPC node, the watched
 * addresses, and how far behind the head and how wide each read goes.
 */
import { ConnectorError } from '../../errors/connector-error.js';
import { OPERATIONAL_PROPERTIES } from '../operations.js';
import { parseProviderConfig, renameSetting } from '../schema-validation.js';
import type { AuthType, ConnectorConfig, JsonSchema } from '../spi.js';
import { keccak256 } from './keccak.js';

export const ETHEREUM_AUTH_TYPES: AuthType[] = ['NONE', 'BEARER', 'API_KEY', 'BASIC'];

export const MAX_WATCHED_ADDRESSES = 50;
export const MAX_TOKENS = 100;
export const DEFAULT_CONFIRMATIONS = 12;
export const DEFAULT_MAX_BLOCK_RANGE = 1000;
export const DEFAULT_MAX_REORG_DEPTH = 64;
export const DEFAULT_RPC_BATCH_SIZE = 20;

export interface TokenInfo {
  address: string;
  decimals: number;
  symbol?: string;
}

export interface EthereumConfig {
  /** The node's JSON-RPC endpoint. */
  rpcUrl: string;
  chainId: number;
  /** Lower-case. */
  addresses: string[];
  /** Lower-case; absent or empty: every token contract. */
  tokenAllowList?: string[];
  tokenDecimals?: TokenInfo[];
  confirmations: number;
  maxBlockRange: number;
  maxReorgDepth: number;
  startBlock?: number;
  rpcBatchSize: number;
  apiKeyHeader: string;
  timeoutMs: number;
  syncIntervalSec: number;
  healthCheckIntervalSec: number;
  degradedLatencyMs: number;
  failureThreshold: number;
}

const HTTP_URL_PATTERN = '^[Hh][Tt][Tt][Pp][Ss]?://';
const ADDRESS_PATTERN = '^0x[0-9a-fA-F]{40}$';
const address = (description: string): JsonSchema => ({ type: 'string', pattern: ADDRESS_PATTERN, minLength: 42, maxLength: 42, description });

export const configSchema: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'Ethereum JSON-RPC node',
  type: 'object',
  additionalProperties: false,
  required: ['rpcUrl', 'addresses'],
  properties: {
    rpcUrl: {
      type: 'string',
      format: 'uri',
      pattern: HTTP_URL_PATTERN,
      maxLength: 2048,
      description:
        "The node's JSON-RPC endpoint over HTTP(S): your own node (geth, Nethermind, Erigon, Reth, Besu on :8545) or a hosted one. No user name or password and no fragment in the URL, and no secret-looking query parameter (key, token, apiKey...): a hosted node's key goes in the credentials (BEARER, API_KEY header or BASIC), or in the path where the provider puts it there (e.g. /v3/<project id>).",
    },
    chainId: {
      type: 'integer',
      minimum: 1,
      maximum: 4294967295,
      default: 1,
      description: 'The EIP-155 chain id the node must serve (1 Ethereum mainnet, 11155111 Sepolia, 17000 Holesky, ...). The connection test and every read compare it with eth_chainId.',
    },
    addresses: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_WATCHED_ADDRESSES,
      uniqueItems: true,
      items: address('0x and 40 hex digits, all lower case or EIP-55 checksummed (mixed case must carry a valid checksum).'),
      description: 'The watched addresses: native transfers from or to them (value > 0) and ERC-20 Transfer events naming them are read.',
    },
    tokenAllowList: {
      type: 'array',
      maxItems: MAX_TOKENS,
      uniqueItems: true,
      items: address('An ERC-20 token contract address.'),
      description: 'Only Transfer events of these token contracts are read (the eth_getLogs address filter). Empty or absent: every contract.',
    },
    tokenDecimals: {
      type: 'array',
      maxItems: MAX_TOKENS,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['address', 'decimals'],
        properties: {
          address: address('The token contract address.'),
          decimals: { type: 'integer', minimum: 0, maximum: 77, description: "The token's decimals (ERC-20 decimals())." },
          symbol: { type: 'string', minLength: 1, maxLength: 32, description: 'The token symbol, copied onto its records.' },
        },
      },
      description: 'Known tokens: their transfers also carry `amount` in token units (exact decimal string). Other tokens carry only the raw `value`.',
    },
    confirmations: {
      type: 'integer',
      minimum: 0,
      maximum: 10000,
      default: DEFAULT_CONFIRMATIONS,
      description: 'Blocks a block must have on top of it before it is read (head − confirmations is the newest block read).',
    },
    maxBlockRange: {
      type: 'integer',
      minimum: 1,
      maximum: 100000,
      default: DEFAULT_MAX_BLOCK_RANGE,
      description: 'Blocks per eth_getLogs query and per batch of records. Shrunk (halved) for the rest of a read when the node answers that a range is too large.',
    },
    maxReorgDepth: {
      type: 'integer',
      minimum: 1,
      maximum: 256,
      default: DEFAULT_MAX_REORG_DEPTH,
      description: 'Block hashes kept in the cursor: how far back a reorganisation is traced to the common ancestor. A deeper one re-reads from the oldest kept block.',
    },
    startBlock: {
      type: 'integer',
      minimum: 0,
      description: 'The first block an initial sync reads. Absent: the first sync starts at the confirmed head (only new activity is read).',
    },
    rpcBatchSize: {
      type: 'integer',
      minimum: 1,
      maximum: 100,
      default: DEFAULT_RPC_BATCH_SIZE,
      description: 'JSON-RPC calls per HTTP request (a JSON-RPC batch array). 1 sends every call alone, for nodes that refuse batches.',
    },
    apiKeyHeader: {
      type: 'string',
      pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
      maxLength: 128,
      default: 'X-API-Key',
      description: 'API_KEY auth: the header that carries the key.',
    },
    timeoutMs: { type: 'integer', minimum: 1000, maximum: 300000, default: 30000, description: 'Budget of one HTTP request to the node.' },
    syncIntervalSec: { type: 'integer', minimum: 1, maximum: 604800, default: 60, description: 'Seconds between ingestion runs (a block comes every 12 s on mainnet).' },
    healthCheckIntervalSec: { type: 'integer', minimum: 1, maximum: 86400, default: 300, description: 'Seconds between scheduled health checks.' },
    degradedLatencyMs: { type: 'integer', minimum: 1, maximum: 300000, default: 5000, description: 'A passing health check slower than this marks the connector DEGRADED.' },
    failureThreshold: { type: 'integer', minimum: 1, maximum: 100, default: 3, description: 'Consecutive failed checks or runs before the connector is FAILING.' },
    ...OPERATIONAL_PROPERTIES,
  },
};

export const credentialsSchema: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'Ethereum JSON-RPC node credentials',
  type: 'object',
  additionalProperties: false,
  properties: {
    token: { type: 'string', minLength: 1, maxLength: 4096, writeOnly: true, description: 'BEARER: sent as Authorization: Bearer <token> (e.g. an Alchemy API key).' },
    apiKey: { type: 'string', minLength: 1, maxLength: 4096, writeOnly: true, description: 'API_KEY: sent in the apiKeyHeader header.' },
    username: { type: 'string', minLength: 1, maxLength: 256, writeOnly: true, description: 'BASIC: user name (e.g. an Infura project id).' },
    password: { type: 'string', minLength: 1, maxLength: 4096, writeOnly: true, description: 'BASIC: password (e.g. an Infura API key secret).' },
  },
};

export const requiredCredentials: Partial<Record<AuthType, string[]>> = {
  NONE: [],
  BEARER: ['token'],
  API_KEY: ['apiKey'],
  BASIC: ['username', 'password'],
};

const HEX40 = /^0x[0-9a-fA-F]{40}$/;

/** The EIP-55 checksummed spelling of an address (any case in, 0x + 40 hex digits). */
export function toChecksumAddress(addr: string): string {
  const lower = addr.slice(2).toLowerCase();
  const hash = Buffer.from(keccak256(Buffer.from(lower, 'ascii'))).toString('hex');
  let out = '0x';
  for (let i = 0; i < 40; i++) out += parseInt(hash[i]!, 16) >= 8 ? lower[i]!.toUpperCase() : lower[i]!;
  return out;
}

/**
 * Why an address is refused, or null: not 0x + 40 hex digits, or mixed case that is not its
 * EIP-55 checksum (a typo). All lower or all upper case carries no checksum and is taken as is.
 */
export function addressProblem(addr: unknown): string | null {
  if (typeof addr !== 'string' || !HEX40.test(addr)) return 'must be 0x followed by 40 hex digits';
  const digits = addr.slice(2);
  if (digits === digits.toLowerCase() || digits === digits.toUpperCase()) return null;
  return addr === toChecksumAddress(addr) ? null : 'has an invalid EIP-55 checksum (mixed case that does not match): check it for a typo, or write it in lower case';
}

/**
 * Version of {@link configSchema}: 2 renamed the node URL `baseUrl` → `rpcUrl` (the published API
 * contract's name). Stored configs are upgraded at start-up ({@link migrateEthereumConfig}).
 */
export const ETHEREUM_CONFIG_VERSION = 2;

/** Upgrades a stored config of `fromVersion` to {@link ETHEREUM_CONFIG_VERSION}; returns a new object. */
export function migrateEthereumConfig(config: ConnectorConfig, fromVersion: number): ConnectorConfig {
  return fromVersion < 2 ? renameSetting(config, 'baseUrl', 'rpcUrl') : structuredClone(config);
}

/**
 * Config rules beyond the JSON Schema: `rpcUrl` without a fragment (a query is allowed: the rules
 * for every URL already refuse userinfo and secret-looking query parameters), the checksums, and a
 * token listed twice in tokenDecimals.
 */
export function ethereumConfigProblems(config: ConnectorConfig): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  if (typeof config.rpcUrl === 'string') {
    try {
      if (new URL(config.rpcUrl).hash) problems.push({ path: 'rpcUrl', message: 'must not contain a fragment' });
    } catch {
      // the schema's `format: uri` reports it
    }
  }
  const list = (key: string) => (Array.isArray(config[key]) ? (config[key] as unknown[]) : []);
  list('addresses').forEach((a, i) => {
    const p = addressProblem(a);
    if (p) problems.push({ path: `addresses.${i}`, message: p });
  });
  list('tokenAllowList').forEach((a, i) => {
    const p = addressProblem(a);
    if (p) problems.push({ path: `tokenAllowList.${i}`, message: p });
  });
  const seen = new Set<string>();
  list('tokenDecimals').forEach((t, i) => {
    const a = (t as { address?: unknown } | null)?.address;
    const p = addressProblem(a);
    if (p) problems.push({ path: `tokenDecimals.${i}.address`, message: p });
    else if (seen.has((a as string).toLowerCase())) problems.push({ path: `tokenDecimals.${i}.address`, message: 'is listed twice' });
    else seen.add((a as string).toLowerCase());
  });
  const lower = list('addresses').filter((a): a is string => typeof a === 'string').map((a) => a.toLowerCase());
  if (new Set(lower).size !== lower.length) problems.push({ path: 'addresses', message: 'lists an address twice (in different cases)' });
  return problems;
}

/** Validates `raw` against {@link configSchema} and the checksum rules, fills defaults, lower-cases addresses; throws CONFIG_INVALID. */
export function parseConfig(raw: unknown): EthereumConfig {
  const cfg = parseProviderConfig<EthereumConfig>(configSchema, raw);
  const problems = ethereumConfigProblems(cfg as unknown as ConnectorConfig);
  if (problems.length) throw new ConnectorError('CONFIG_INVALID', `Invalid configuration: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`);
  cfg.addresses = cfg.addresses.map((a) => a.toLowerCase());
  if (cfg.tokenAllowList) cfg.tokenAllowList = cfg.tokenAllowList.map((a) => a.toLowerCase());
  if (cfg.tokenDecimals) cfg.tokenDecimals = cfg.tokenDecimals.map((t) => ({ ...t, address: t.address.toLowerCase() }));
  return cfg;
}

/** Refuses auth types the provider has no use for, before anything is contacted. */
export function assertAuthType(authType: AuthType): void {
  if (!ETHEREUM_AUTH_TYPES.includes(authType)) {
    throw new ConnectorError('CONFIG_INVALID', `The ethereum provider supports the auth types ${ETHEREUM_AUTH_TYPES.join(', ')}, not ${String(authType)}`);
  }
}

/** Chain names of the `chain` field (as the etherscan provider writes them); others: `eip155:<id>`. */
const CHAIN_NAMES: Record<number, string> = {
  1: 'ethereum',
  11155111: 'sepolia',
  17000: 'holesky',
  10: 'optimism',
  56: 'bsc',
  137: 'polygon',
  8453: 'base',
  42161: 'arbitrum',
};

export function chainName(chainId: number): string {
  return CHAIN_NAMES[chainId] ?? `eip155:${chainId}`;
}
