/**
 * A minimal ERC-20 token for the ethereum replica and suite, as EVM bytecode assembled here from
 * the listing below (no compiler at test time, and none installed): the opcodes are the source. It behaves
 * like this Solidity (storage laid out the same way: balances in a mapping at slot 0):
 *
 * ```solidity
 * contract TestToken {
 *   mapping(address => uint256) public balanceOf;   // slot 0
 *   uint256 public totalSupply;                     // slot 1
 *   uint8 public decimals;                          // slot 2
 *   event Transfer(address indexed from, address indexed to, uint256 value);
 *   constructor(uint256 supply, uint8 decimals_) {
 *     totalSupply = supply; decimals = decimals_;
 *     balanceOf[msg.sender] = supply;
 *     emit Transfer(address(0), msg.sender, supply);
 *   }
 *   function transfer(address to, uint256 value) external returns (bool) {
 *     require(balanceOf[msg.sender] >= value);
 *     balanceOf[msg.sender] -= value;
 *     balanceOf[to] += value;
 *     emit Transfer(msg.sender, to, value);
 *     return true;
 *   }
 * }
 * ```
 *
 * `ERC721_LIKE_BYTECODE` is a contract whose `mint(address,uint256)` emits a Transfer with the
 * token id as a fourth topic, as ERC-721 does: the same topic0, which the provider must not take
 * for an ERC-20 transfer.
 */
import type { Abi, Hex } from 'viem';

const OP: Record<string, number> = {
  STOP: 0x00, ADD: 0x01, SUB: 0x03, LT: 0x10, EQ: 0x14, AND: 0x16, SHR: 0x1c, SHA3: 0x20,
  CALLER: 0x33, CALLDATALOAD: 0x35, CODESIZE: 0x38, CODECOPY: 0x39,
  POP: 0x50, MLOAD: 0x51, MSTORE: 0x52, SLOAD: 0x54, SSTORE: 0x55, JUMPI: 0x57, JUMPDEST: 0x5b,
  DUP1: 0x80, DUP2: 0x81, DUP3: 0x82, SWAP1: 0x90, LOG3: 0xa3, LOG4: 0xa4, RETURN: 0xf3, REVERT: 0xfd,
};

/** An item: an opcode name, `PUSHn:<hex>`, `@label` (PUSH2 of a label's offset) or `label:` (a JUMPDEST). */
type Item = string;

/** Two passes: label offsets, then bytes. Labels are PUSH2, so every item's size is known up front. */
export function assemble(items: readonly Item[]): string {
  const size = (item: Item) => (item.startsWith('PUSH') ? 1 + Number(item.slice(4, item.indexOf(':'))) : item.startsWith('@') ? 3 : 1);
  const labels = new Map<string, number>();
  let offset = 0;
  for (const item of items) {
    if (item.endsWith(':')) labels.set(item.slice(0, -1), offset);
    offset += size(item);
  }
  let hex = '';
  for (const item of items) {
    if (item.endsWith(':')) hex += OP.JUMPDEST!.toString(16).padStart(2, '0');
    else if (item.startsWith('@')) {
      const target = labels.get(item.slice(1));
      if (target === undefined) throw new Error(`unknown label ${item}`);
      hex += `61${target.toString(16).padStart(4, '0')}`;
    } else if (item.startsWith('PUSH')) {
      const n = Number(item.slice(4, item.indexOf(':')));
      const data = item.slice(item.indexOf(':') + 1).padStart(n * 2, '0');
      if (data.length !== n * 2) throw new Error(`bad ${item}`);
      hex += (0x5f + n).toString(16) + data;
    } else {
      const op = OP[item];
      if (op === undefined) throw new Error(`unknown opcode ${item}`);
      hex += op.toString(16).padStart(2, '0');
    }
  }
  return hex;
}

const TRANSFER = 'ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';
const ADDRESS_MASK = 'PUSH20:' + 'ff'.repeat(20);

/** [address] → [keccak256(address . 0)]: the balance slot (Solidity's mapping layout at slot 0). */
const BALANCE_SLOT: Item[] = ['PUSH1:00', 'MSTORE', 'PUSH1:00', 'PUSH1:20', 'MSTORE', 'PUSH1:40', 'PUSH1:00', 'SHA3'];
/** [value] → returns it as one 32-byte word. */
const RETURN_WORD: Item[] = ['PUSH1:00', 'MSTORE', 'PUSH1:20', 'PUSH1:00', 'RETURN'];

const selector = (sel: string, label: string): Item[] => ['DUP1', `PUSH4:${sel}`, 'EQ', `@${label}`, 'JUMPI'];

const RUNTIME: Item[] = [
  'PUSH1:00', 'CALLDATALOAD', 'PUSH1:e0', 'SHR',
  ...selector('70a08231', 'balanceOf'),
  ...selector('a9059cbb', 'transfer'),
  ...selector('18160ddd', 'totalSupply'),
  ...selector('313ce567', 'decimals'),
  'fail:', 'PUSH1:00', 'DUP1', 'REVERT',
  'balanceOf:', 'PUSH1:04', 'CALLDATALOAD', ADDRESS_MASK, 'AND', ...BALANCE_SLOT, 'SLOAD', ...RETURN_WORD,
  'totalSupply:', 'PUSH1:01', 'SLOAD', ...RETURN_WORD,
  'decimals:', 'PUSH1:02', 'SLOAD', ...RETURN_WORD,
  'transfer:',
  'CALLER', ...BALANCE_SLOT, //               [fromSlot]
  'DUP1', 'SLOAD', //                         [fromSlot, balance]
  'PUSH1:24', 'CALLDATALOAD', //              [fromSlot, balance, value]
  'DUP1', 'DUP3', 'LT', '@fail', 'JUMPI', //  balance < value → revert
  'SWAP1', 'DUP2', 'SWAP1', 'SUB', //          [fromSlot, value, balance - value]
  'DUP3', 'SSTORE', //                        [fromSlot, value]
  'SWAP1', 'POP', //                          [value]
  'PUSH1:04', 'CALLDATALOAD', ADDRESS_MASK, 'AND', ...BALANCE_SLOT, // [value, toSlot]
  'DUP1', 'SLOAD', 'DUP3', 'ADD', 'SWAP1', 'SSTORE', //              [value]
  'PUSH1:00', 'MSTORE', //                    memory[0] = value
  'PUSH1:04', 'CALLDATALOAD', ADDRESS_MASK, 'AND', 'CALLER', `PUSH32:${TRANSFER}`, 'PUSH1:20', 'PUSH1:00', 'LOG3',
  'PUSH1:01', ...RETURN_WORD,
];

function initcode(runtime: string, constructorBody: Item[]): string {
  const len = runtime.length / 2;
  // The constructor's own length is fixed by its items; the runtime follows it.
  const tail = (ctorLen: number): Item[] => [`PUSH2:${len.toString(16).padStart(4, '0')}`, 'DUP1', `PUSH2:${ctorLen.toString(16).padStart(4, '0')}`, 'PUSH1:00', 'CODECOPY', 'PUSH1:00', 'RETURN'];
  const ctorLen = assemble([...constructorBody, ...tail(0)]).length / 2;
  return assemble([...constructorBody, ...tail(ctorLen)]) + runtime;
}

const CONSTRUCTOR: Item[] = [
  'PUSH1:40', 'CODESIZE', 'SUB', 'PUSH1:40', 'SWAP1', 'PUSH1:00', 'CODECOPY', // memory[0..64] = (supply, decimals)
  'PUSH1:00', 'MLOAD', 'DUP1', 'PUSH1:01', 'SSTORE', //                        totalSupply = supply
  'PUSH1:20', 'MLOAD', 'PUSH1:02', 'SSTORE', //                                decimals
  'CALLER', ...BALANCE_SLOT, 'DUP2', 'SWAP1', 'SSTORE', //                     balanceOf[msg.sender] = supply
  'PUSH1:00', 'MSTORE', 'CALLER', 'PUSH1:00', `PUSH32:${TRANSFER}`, 'PUSH1:20', 'PUSH1:00', 'LOG3', // Transfer(0, sender, supply)
];

export const ERC20_BYTECODE = `0x${initcode(assemble(RUNTIME), CONSTRUCTOR)}` as Hex;

export const ERC20_ABI = [
  { type: 'constructor', stateMutability: 'nonpayable', inputs: [{ name: 'supply', type: 'uint256' }, { name: 'decimals_', type: 'uint8' }] },
  { type: 'function', name: 'transfer', stateMutability: 'nonpayable', inputs: [{ name: 'to', type: 'address' }, { name: 'value', type: 'uint256' }], outputs: [{ type: 'bool' }] },
  { type: 'function', name: 'balanceOf', stateMutability: 'view', inputs: [{ name: 'owner', type: 'address' }], outputs: [{ type: 'uint256' }] },
  { type: 'function', name: 'totalSupply', stateMutability: 'view', inputs: [], outputs: [{ type: 'uint256' }] },
  { type: 'function', name: 'decimals', stateMutability: 'view', inputs: [], outputs: [{ type: 'uint8' }] },
  {
    type: 'event',
    name: 'Transfer',
    inputs: [
      { name: 'from', type: 'address', indexed: true },
      { name: 'to', type: 'address', indexed: true },
      { name: 'value', type: 'uint256', indexed: false },
    ],
  },
] as const satisfies Abi;

/** `mint(address to, uint256 tokenId)`: emits Transfer(0, to, tokenId) with tokenId indexed (4 topics), as ERC-721 does. */
const NFT_RUNTIME: Item[] = [
  'PUSH1:24', 'CALLDATALOAD', 'PUSH1:04', 'CALLDATALOAD', ADDRESS_MASK, 'AND', 'PUSH1:00', `PUSH32:${TRANSFER}`, 'PUSH1:00', 'PUSH1:00', 'LOG4', 'STOP',
];
export const ERC721_LIKE_BYTECODE = `0x${initcode(assemble(NFT_RUNTIME), [])}` as Hex;
export const ERC721_LIKE_ABI = [
  { type: 'function', name: 'mint', stateMutability: 'nonpayable', inputs: [{ name: 'to', type: 'address' }, { name: 'tokenId', type: 'uint256' }], outputs: [] },
] as const satisfies Abi;
