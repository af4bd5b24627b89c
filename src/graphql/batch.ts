import DataLoader from 'dataloader';
import type { PageWindow } from '../context/cursors.js';
import { inSpan, tracingEnabled } from '../tracing/tracing.js';
import { afterSlices, yieldIfBusy } from './cooperative.js';

/**
 * A DataLoader whose values reach their resolvers in time slices: one batch answers hundreds of
 * keys at once, and completing all of them in one stretch would hold the event loop. Its batches
 * wait for the request's sliced lists, so every slice's loads share one statement (cooperative.ts).
 */
export class SlicedLoader<K, V, C = K> extends DataLoader<K, V, C> {
  constructor(batch: DataLoader.BatchLoadFn<K, V>, options: DataLoader.Options<K, V, C> = {}) {
    const self: { loader?: DataLoader<K, V, C> } = {};
    super(tracedBatch(() => self.loader?.name ?? null, batch), { batchScheduleFn: afterSlices, ...options });
    self.loader = this;
  }

  override async load(key: K): Promise<V> {
    const value = await super.load(key);
    const pause = yieldIfBusy();
    if (pause) await pause;
    return value;
  }
}

/**
 * A batch function in a `dataloader.batch <name>` span (the loader's name: its key in
 * createLoaders), so a request's trace shows each batch with its SQL beneath it.
 */
function tracedBatch<K, V>(name: () => string | null, batch: DataLoader.BatchLoadFn<K, V>): DataLoader.BatchLoadFn<K, V> {
  return (keys) => {
    if (!tracingEnabled()) return batch(keys);
    const loader = name() ?? 'anonymous';
    return inSpan(`dataloader.batch ${loader}`, { attributes: { 'dataloader.name': loader, 'dataloader.batch.size': keys.length } }, async () => batch(keys));
  };
}

/** Loads many ids in one call, answering each key with its row or null (missing or not visible). */
export function byIdLoader<T extends { id: string }>(load: (ids: readonly string[]) => Promise<T[]>): DataLoader<string, T | null> {
  return new SlicedLoader<string, T | null>(async (ids) => {
    const rows = await load(ids);
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => byId.get(id) ?? null);
  });
}

export interface PageKey {
  parentId: string;
  first: number;
  after: string | null;
}

/**
 * Loads a page of children for many parents: keys with the same (first, after) share one call,
 * which answers with a map from parent id to rows.
 */
export function pageLoader<T>(load: (parentIds: string[], first: number, after: string | null) => Promise<Map<string, T[]>>): DataLoader<PageKey, T[], string> {
  return new SlicedLoader<PageKey, T[], string>(
    async (keys) => {
      const groups = new Map<string, { first: number; after: string | null; ids: string[] }>();
      for (const key of keys) {
        const group = `${key.first}:${key.after ?? ''}`;
        if (!groups.has(group)) groups.set(group, { first: key.first, after: key.after, ids: [] });
        groups.get(group)!.ids.push(key.parentId);
      }
      const results = new Map<string, Map<string, T[]>>();
      await Promise.all(
        [...groups].map(async ([group, { first, after, ids }]) => results.set(group, await load([...new Set(ids)], first, after))),
      );
      return keys.map((key) => results.get(`${key.first}:${key.after ?? ''}`)!.get(key.parentId) ?? []);
    },
    { cacheKeyFn: (key) => `${key.parentId}:${key.first}:${key.after ?? ''}` },
  );
}

/** A page of one parent's children (`Connector.auditEvents`, `Application.connectors`). */
export interface ChildPageKey {
  parentId: string;
  window: PageWindow;
}

/** Keys asking for the same page (size, direction, bounds) of different parents share one statement. */
const pageKey = (w: PageWindow) => JSON.stringify([w.binding.list, w.limit, w.backward, w.after, w.before]);

/**
 * A sliced loader of child pages: the keys of one batch are grouped by their page, and each group
 * is read in one statement by `list` (parent ids → each parent's page of children).
 */
export function childPageLoader<T>(list: (parentIds: string[], window: PageWindow) => Promise<Map<string, T[]>>): SlicedLoader<ChildPageKey, T[], string> {
  return new SlicedLoader<ChildPageKey, T[], string>(
    async (keys) => {
      const groups = new Map<string, { window: PageWindow; ids: Set<string> }>();
      for (const key of keys) {
        const group = pageKey(key.window);
        if (!groups.has(group)) groups.set(group, { window: key.window, ids: new Set() });
        groups.get(group)!.ids.add(key.parentId);
      }
      const results = new Map<string, Map<string, T[]>>();
      await Promise.all([...groups].map(async ([group, { window, ids }]) => results.set(group, await list([...ids], window))));
      return keys.map((key) => results.get(pageKey(key.window))!.get(key.parentId) ?? []);
    },
    { cacheKeyFn: (key) => `${key.parentId}:${pageKey(key.window)}` },
  );
}
