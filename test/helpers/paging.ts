/** Relay paging both ways, as every connection of the API does it (first/after, last/before). */

/** The selection a paged list answers `Page` with. */
export const PAGE = 'pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor } nodes { id }';

export type Page = {
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  edges: Array<{ cursor: string }>;
  nodes: Array<{ id: string }>;
};

/**
 * Walks a list of exactly `size × pages` items forwards with first/after, then backwards with
 * last/before; pageInfo, cursors and nodes agree both ways. Returns the forward pages.
 */
export async function walkBothWays(fetch: (args: Record<string, unknown>) => Promise<Page>, size: number, pages: number): Promise<Page[]> {
  const forward: Page[] = [];
  let after: string | null = null;
  for (let i = 0; i < pages; i++) {
    const page = await fetch({ first: size, after });
    forward.push(page);
    expect(page.nodes).toHaveLength(size);
    expect(page.pageInfo).toMatchObject({ hasPreviousPage: i > 0, hasNextPage: i < pages - 1 });
    expect(page.pageInfo.startCursor).toBe(page.edges[0]!.cursor);
    expect(page.pageInfo.endCursor).toBe(page.edges[size - 1]!.cursor);
    after = page.pageInfo.endCursor;
  }
  const backward: Page[] = [];
  let before: string | null = null;
  for (let i = 0; i < pages; i++) {
    const page = await fetch({ last: size, before });
    backward.push(page);
    expect(page.nodes).toHaveLength(size);
    expect(page.pageInfo).toMatchObject({ hasNextPage: i > 0, hasPreviousPage: i < pages - 1 });
    expect(page.pageInfo.startCursor).toBe(page.edges[0]!.cursor);
    before = page.pageInfo.startCursor;
  }
  expect(backward.map((p) => p.nodes.map((n) => n.id))).toEqual(forward.map((p) => p.nodes.map((n) => n.id)).reverse());
  expect(backward.map((p) => p.edges.map((e) => e.cursor))).toEqual(forward.map((p) => p.edges.map((e) => e.cursor)).reverse());
  return forward;
}
