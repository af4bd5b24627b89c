/**
 * What the replica unit tests (test/unit/replicas) share: a replica started around a suite, the
 * provider's manifest, and reads through the engine compiled from it.
 */
import type { ReplicaModule, ReplicaOptions, StartedReplica } from '../../replicas/base.js';
import { loadManifestFile, type ProviderManifest } from '../../src/adapters/declarative/manifest.js';
import { compileManifest } from '../../src/adapters/declarative/engine.js';
import { createHttpClient } from '../../src/adapters/http/client.js';
import type { ConnectionInput, ReadCursor, RecordBatch } from '../../src/adapters/spi.js';

/** The OAuth 2.0 access token the replicas under test approve (they refuse any other). */
export const GOOD_TOKEN = 'good-access-token';

/**
 * Starts `module` before the tests of the enclosing suite (approving GOOD_TOKEN) and closes it
 * after them. The StartedReplica returned forwards to the started one, so tests use it as such.
 */
export function replicaUnderTest(module: ReplicaModule, options: ReplicaOptions = {}): StartedReplica {
  let started: StartedReplica | undefined;
  const current = (): StartedReplica => {
    if (!started) throw new Error(`the ${module.provider} replica starts in beforeAll`);
    return started;
  };
  beforeAll(async () => {
    started = await module.start({ verifyBearer: async (token) => token === GOOD_TOKEN, ...options });
  });
  afterAll(async () => started?.close());
  return {
    get server() {
      return current().server;
    },
    get url() {
      return current().url;
    },
    connection: () => current().connection(),
    wrongConnection: () => current().wrongConnection(),
    get oauthConfig() {
      return current().oauthConfig;
    },
    addItems: (n) => current().addItems(n),
    items: () => current().items(),
    close: () => current().close(),
  };
}

/** The provider's manifest (src/adapters/manifests/<provider>.yaml), parsed and validated. */
export function manifestOf(provider: string): ProviderManifest {
  return loadManifestFile(new URL(`../../src/adapters/manifests/${provider}.yaml`, import.meta.url));
}

/** Reads a replica through the engine compiled from `manifest`, with the replica's native connection. */
export function engineReader(manifest: ProviderManifest, replica: StartedReplica) {
  const adapter = compileManifest(manifest);
  const http = createHttpClient({ egressAllow: ['127.0.0.1/32'], retries: 0 });
  const { authType, credentials, config } = replica.connection();
  const input: ConnectionInput = { authType, credentials, config };
  return {
    /** Every batch of one read from `cursor`. */
    async read(cursor: ReadCursor = null): Promise<RecordBatch[]> {
      const batches: RecordBatch[] = [];
      for await (const batch of adapter.read({ http }, input, cursor)) batches.push(batch);
      return batches;
    },
    close: () => http.close(),
  };
}

/** The records are the items, in order, each mapped as the replica's oracle says. */
export function expectMapped(module: ReplicaModule, items: unknown[], records: unknown[]): void {
  expect(records).toHaveLength(items.length);
  items.forEach((item, i) => expect(records[i]).toMatchObject(module.expectedRecord(item)));
}
