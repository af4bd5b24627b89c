/**
 * The `ethereum` provider's replica: a real local Ethereum node (ganache) on loopback, driven with
 * viem, with two ERC-20 tokens (replicas/ethereum-token.ts) and a funded watched address that has
 * sent and received a few native and token transfers. `npm run replicas` serves it on
 * REPLICAS_ETHEREUM_PORT (default 8545, the usual JSON-RPC port); the ethereum suite uses
 * `startEthNode` for its own scenario.
 */
import type { AddressInfo } from 'node:net';
import ganache from 'ganache';
import { createPublicClient, createWalletClient, http, parseEther, type Address, type Hash, type PublicClient, type WalletClient } from 'viem';
import { ERC20_ABI, ERC20_BYTECODE, ERC721_LIKE_ABI, ERC721_LIKE_BYTECODE } from './ethereum-token.js';

export interface EthNode {
  url: string;
  chainId: number;
  accounts: Address[];
  pub: PublicClient;
  wallet: WalletClient;
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  mine(blocks?: number): Promise<void>;
  head(): Promise<number>;
  snapshot(): Promise<string>;
  revert(id: string): Promise<void>;
  sendEth(from: Address, to: Address, wei: bigint, gas?: bigint): Promise<Hash>;
  deployToken(decimals: number, supply?: bigint): Promise<Address>;
  deployNft(): Promise<Address>;
  tokenTransfer(token: Address, from: Address, to: Address, value: bigint): Promise<Hash>;
  nftMint(nft: Address, to: Address, id: bigint): Promise<Hash>;
  receipt(hash: Hash): Promise<{ blockNumber: bigint; blockHash: Hash; status: 'success' | 'reverted'; logs: Array<{ logIndex: number; address: Address }> }>;
  close(): Promise<void>;
}

export async function startEthNode(chainId = 31337, port = 0, host = '127.0.0.1'): Promise<EthNode> {
  const server = ganache.server({
    logging: { quiet: true },
    chain: { chainId },
    miner: { blockTime: 0 },
    wallet: { totalAccounts: 8, deterministic: true, defaultBalance: 1000 },
  } as never);
  await server.listen(port, host);
  const url = `http://${host}:${(server.address() as AddressInfo).port}`;
  const chain = { id: chainId, name: 'ganache', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [url] } } } as const;
  const pub = createPublicClient({ chain, transport: http(url) }) as PublicClient;
  const wallet = createWalletClient({ chain, transport: http(url) });
  const rpc = <T>(method: string, params: unknown[] = []) => pub.request({ method, params } as never) as Promise<T>;
  const accounts = (await rpc<string[]>('eth_accounts')).map((a) => a as Address);
  const wait = async (hash: Hash) => {
    await pub.waitForTransactionReceipt({ hash, pollingInterval: 20 });
    return hash;
  };
  const node: EthNode = {
    url,
    chainId,
    accounts,
    pub,
    wallet,
    rpc,
    async mine(blocks = 1) {
      for (let i = 0; i < blocks; i++) await rpc('evm_mine');
    },
    async head() {
      return Number(await pub.getBlockNumber({ cacheTime: 0 }));
    },
    snapshot: () => rpc<string>('evm_snapshot'),
    async revert(id) {
      await rpc('evm_revert', [id]);
    },
    async sendEth(from, to, wei, gas) {
      return wait(await wallet.sendTransaction({ account: from, chain, to, value: wei, ...(gas ? { gas } : {}) }));
    },
    async deployToken(decimals, supply = 10n ** 40n) {
      const hash = await wallet.deployContract({ account: accounts[0]!, chain, abi: ERC20_ABI, bytecode: ERC20_BYTECODE, args: [supply, decimals], gas: 1_000_000n });
      return (await pub.waitForTransactionReceipt({ hash, pollingInterval: 20 })).contractAddress!;
    },
    async deployNft() {
      const hash = await wallet.deployContract({ account: accounts[0]!, chain, abi: ERC721_LIKE_ABI, bytecode: ERC721_LIKE_BYTECODE, gas: 500_000n });
      return (await pub.waitForTransactionReceipt({ hash, pollingInterval: 20 })).contractAddress!;
    },
    async tokenTransfer(token, from, to, value) {
      return wait(await wallet.writeContract({ account: from, chain, address: token, abi: ERC20_ABI, functionName: 'transfer', args: [to, value], gas: 200_000n }));
    },
    async nftMint(nft, to, id) {
      return wait(await wallet.writeContract({ account: accounts[0]!, chain, address: nft, abi: ERC721_LIKE_ABI, functionName: 'mint', args: [to, id], gas: 200_000n }));
    },
    async receipt(hash) {
      const r = await pub.getTransactionReceipt({ hash });
      return { blockNumber: r.blockNumber, blockHash: r.blockHash, status: r.status, logs: r.logs.map((l) => ({ logIndex: l.logIndex, address: l.address })) };
    },
    close: () => server.close(),
  };
  return node;
}

/** The replica for `npm run replicas`: a node with a watched address, two tokens and a few transfers. */
export async function startEthereumReplica(port = 8545, chainId = 31337): Promise<{ node: EthNode; connection: { authType: 'NONE'; credentials: Record<string, string>; config: Record<string, unknown> } }> {
  const node = await startEthNode(chainId, port);
  const [funder, watched, other] = node.accounts as [Address, Address, Address];
  const usdc = await node.deployToken(6);
  const dai = await node.deployToken(18);
  await node.sendEth(funder, watched, parseEther('10'));
  await node.tokenTransfer(usdc, funder, watched, 2_500_000_000n);
  await node.tokenTransfer(dai, funder, watched, parseEther('1234.5'));
  await node.sendEth(watched, other, parseEther('0.75'));
  await node.tokenTransfer(usdc, watched, other, 99_990_000n);
  await node.tokenTransfer(dai, watched, other, 1n);
  await node.mine(3);
  return {
    node,
    connection: {
      authType: 'NONE',
      credentials: {},
      config: {
        rpcUrl: node.url,
        chainId,
        addresses: [watched],
        tokenDecimals: [
          { address: usdc, decimals: 6, symbol: 'tUSDC' },
          { address: dai, decimals: 18, symbol: 'tDAI' },
        ],
        confirmations: 2,
        startBlock: 0,
      },
    },
  };
}
