/** The ethereum provider's pure parts: Keccak-256 against viem's, EIP-55, and the JSON-RPC error classification. */
import { getAddress, keccak256 as viemKeccak, toEventSelector } from 'viem';
import { keccak256, keccak256Hex } from '../../../src/adapters/ethereum/keccak.js';
import { addressProblem, toChecksumAddress } from '../../../src/adapters/ethereum/config.js';
import { classifyRpcError } from '../../../src/adapters/ethereum/rpc.js';
import { TRANSFER_TOPIC } from '../../../src/adapters/ethereum/mapper.js';

test('Keccak-256 equals viem (@noble/hashes) for every length around the 136-byte rate', () => {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) & 0xff;
  for (let len = 0; len <= 300; len++) {
    const data = Uint8Array.from({ length: len }, next);
    expect([len, `0x${Buffer.from(keccak256(data)).toString('hex')}`]).toEqual([len, viemKeccak(data)]);
  }
  expect(keccak256Hex('Transfer(address,address,uint256)')).toBe(TRANSFER_TOPIC);
  expect(TRANSFER_TOPIC).toBe(toEventSelector('Transfer(address,address,uint256)'));
});

test('EIP-55 checksums equal viem getAddress; mixed case must match', () => {
  for (let i = 0; i < 50; i++) {
    const lower = `0x${Buffer.from(keccak256(Buffer.from(String(i)))).toString('hex').slice(0, 40)}`;
    expect(toChecksumAddress(lower)).toBe(getAddress(lower));
    expect(addressProblem(getAddress(lower))).toBeNull();
    expect(addressProblem(lower)).toBeNull();
  }
  // The EIP-55 test vectors.
  for (const a of ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359', '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB', '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb']) {
    expect(addressProblem(a)).toBeNull();
    expect(addressProblem(a.replace('a', 'A'))).toMatch(/checksum/);
  }
});

test('JSON-RPC errors map to precise connector errors', () => {
  const c = (code: number | undefined, message: string, status?: number) => classifyRpcError(code, message, status);
  expect(c(-32601, 'the method eth_foo does not exist/is not available')).toEqual({ kind: 'method_not_found', connectorCode: 'CONFIG_INVALID' });
  expect(c(-32700, 'The method eth_foo does not exist/is not available')).toEqual({ kind: 'method_not_found', connectorCode: 'CONFIG_INVALID' }); // ganache's code
  expect(c(-32602, 'invalid argument 0: hex string without 0x prefix')).toEqual({ kind: 'invalid_params', connectorCode: 'CONFIG_INVALID' });
  expect(c(-32005, 'query returned more than 10000 results')).toEqual({ kind: 'range_too_large', connectorCode: 'CONFIG_INVALID' }); // Infura
  expect(c(-32602, 'Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range')).toMatchObject({ kind: 'range_too_large' }); // Alchemy
  expect(c(-32000, 'exceed maximum block range: 5000')).toMatchObject({ kind: 'range_too_large' });
  expect(c(-32005, 'daily request count exceeded, request rate limited')).toEqual({ kind: 'rate_limited', connectorCode: 'RATE_LIMITED' });
  expect(c(429, 'Your app has exceeded its compute units per second capacity')).toMatchObject({ kind: 'rate_limited' });
  expect(c(undefined, 'Too Many Requests', 429)).toMatchObject({ kind: 'rate_limited' });
  expect(c(-32600, 'Must be authenticated!')).toEqual({ kind: 'auth', connectorCode: 'AUTH_FAILED' });
  expect(c(undefined, 'invalid project id', 401)).toMatchObject({ kind: 'auth' });
  expect(c(-32000, 'header not found')).toEqual({ kind: 'server', connectorCode: 'UNREACHABLE' });
  expect(c(3, 'execution reverted')).toEqual({ kind: 'other', connectorCode: 'BAD_RESPONSE' });
});
