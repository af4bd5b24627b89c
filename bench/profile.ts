/**
 * Summaries of a V8 CPU profile (.cpuprofile, as written by node --cpu-prof or the inspector's
 * Profiler.stop): self time grouped by package, time with a package anywhere on the stack, and the
 * hottest functions. Idle samples are left out of the percentages.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Share {
  name: string;
  ms: number;
  /** Of busy (non-idle) time. */
  pct: number;
}

export interface ProfileSummary {
  /** Sampled wall time while the profiler ran. */
  totalMs: number;
  /** Without (idle). */
  busyMs: number;
  selfByPackage: Share[];
  /** Samples with at least one frame of the package on the stack (so they add up to more than 100 %). */
  inclusiveByPackage: Share[];
  topFunctions: Share[];
}

/** Where a frame belongs: an npm package, a part of the service, Node's core, or V8 itself. */
export function frameGroup(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === '(garbage collector)') return '(garbage collector)';
    if (functionName === '(idle)') return '(idle)';
    if (functionName === '(program)') return '(program: V8/native, unattributed)';
    if (functionName === '(root)') return '(root)';
    return '(native: V8 builtins, Node C++ bindings)';
  }
  if (url.startsWith('node:')) return 'node (core)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = url.indexOf('/dist/src/');
  if (src >= 0) {
    const parts = url.slice(src + '/dist/src/'.length).split('/');
    return parts[0] === 'modules' && parts.length > 2 ? `service src/modules/${parts[1]}` : `service src/${parts[0]}`;
  }
  // V8 attributes builtins such as JSON.stringify to the calling function: the floor's own code includes them.
  if (url.includes('/dist/bench/floor.js')) return 'floor code (bench/floor.ts, with JSON.stringify)';
  if (url.includes('/dist/bench/')) return 'bench harness';
  return url;
}

function shortLocation(frame: CallFrame): string {
  const { url, lineNumber } = frame;
  if (!url) return '';
  const nm = url.lastIndexOf('/node_modules/');
  const tail = nm >= 0 ? url.slice(nm + '/node_modules/'.length) : url.includes('/dist/') ? url.slice(url.indexOf('/dist/') + 1) : url;
  return `${tail}:${lineNumber + 1}`;
}

function shares(map: Map<string, number>, busyMs: number, limit: number): Share[] {
  return [...map]
    .filter(([name]) => name !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, ms]) => ({ name, ms, pct: (ms / busyMs) * 100 }));
}

export function summarizeProfile(profile: CpuProfile, limit = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  // A sample lasts until the next one; the last one gets the mean.
  const deltas = profile.timeDeltas;
  const mean = deltas.length ? deltas.reduce((a, b) => a + b, 0) / deltas.length : 0;
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const us = i + 1 < deltas.length ? deltas[i + 1]! : mean;
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + us);
  }

  const selfByGroup = new Map<string, number>();
  const inclusiveByGroup = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const group = frameGroup(node.callFrame);
    totalUs += us;
    if (group === '(idle)') {
      idleUs += us;
      continue;
    }
    selfByGroup.set(group, (selfByGroup.get(group) ?? 0) + us);
    const fn = `${node.callFrame.functionName || '(anonymous)'} ${shortLocation(node.callFrame)}`.trim();
    const key = `${fn} [${group}]`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const seen = new Set<string>();
    for (let cursor: number | undefined = id; cursor !== undefined; cursor = parent.get(cursor)) {
      const g = frameGroup(byId.get(cursor)!.callFrame);
      if (g === '(root)' || seen.has(g)) continue;
      seen.add(g);
      inclusiveByGroup.set(g, (inclusiveByGroup.get(g) ?? 0) + us);
    }
  }
  const toMs = (m: Map<string, number>) => new Map([...m].map(([k, v]) => [k, v / 1000]));
  const busyMs = (totalUs - idleUs) / 1000;
  return {
    totalMs: totalUs / 1000,
    busyMs,
    selfByPackage: shares(toMs(selfByGroup), busyMs, limit),
    inclusiveByPackage: shares(toMs(inclusiveByGroup), busyMs, limit),
    topFunctions: shares(toMs(byFunction), busyMs, limit),
  };
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}
