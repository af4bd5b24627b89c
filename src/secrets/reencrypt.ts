/**
 * Master-key rotation of the local store: every row of `connector_secrets` decrypted under the old
 * key and encrypted under the new one (fresh nonce, new key id), in one transaction, so the table
 * is never half-rotated. Used by `npm run secrets:rotate-master-key`.
 */
import type { DataSource } from 'typeorm';
import { SecretCipher, databaseError } from './local.store.js';
import { SecretStoreError } from './contract.js';

export interface ReencryptOptions {
  /** Rows read and updated per statement. Default 500. */
  batchSize?: number;
}

export interface ReencryptResult {
  /** Rows re-encrypted from the old key to the new one. */
  reencrypted: number;
  /** Rows that were already under the new key (an earlier rotation whose key file was not swapped). */
  alreadyCurrent: number;
  fromKeyId: string;
  toKeyId: string;
}

interface Row {
  tenant_id: string;
  connector_id: string;
  version: number;
  key_id: string;
  nonce: Buffer;
  ciphertext: Buffer;
  auth_tag: Buffer;
}

/**
 * Re-encrypts every stored secret version from `oldKey` to `newKey` (32 bytes each). The table is
 * locked against writers for the duration; any row under a third key, or failing authentication,
 * aborts the whole rotation (`KEY_MISMATCH` / `CORRUPT`) and nothing changes.
 */
export async function reencryptAll(dataSource: DataSource, oldKey: Buffer, newKey: Buffer, options: ReencryptOptions = {}): Promise<ReencryptResult> {
  const from = new SecretCipher(oldKey);
  const to = new SecretCipher(newKey);
  if (from.keyId === to.keyId) throw new SecretStoreError('INVALID_INPUT', 'The new master key is the same as the current one');
  const batchSize = Math.max(1, Math.min(10_000, Math.floor(options.batchSize ?? 500)));
  try {
    return await dataSource.transaction(async (m) => {
      // Writers (which take ROW EXCLUSIVE) wait until the rotation commits; readers carry on.
      await m.query(`LOCK TABLE connector_secrets IN SHARE ROW EXCLUSIVE MODE`);
      let reencrypted = 0;
      let alreadyCurrent = 0;
      let after: [string, string, number] | null = null;
      for (;;) {
        const rows: Row[] = await m.query(
          `SELECT tenant_id, connector_id, version, key_id, nonce, ciphertext, auth_tag
             FROM connector_secrets
            WHERE $1::text IS NULL OR (tenant_id, connector_id, version) > ($1::text, $2::varchar, $3::int)
            ORDER BY tenant_id, connector_id, version
            LIMIT $4`,
          [after?.[0] ?? null, after?.[1] ?? null, after?.[2] ?? null, batchSize],
        );
        if (rows.length === 0) break;
        const last = rows[rows.length - 1]!;
        after = [last.tenant_id, last.connector_id, last.version];

        const pending = rows.filter((row) => row.key_id !== to.keyId);
        alreadyCurrent += rows.length - pending.length;
        if (pending.length === 0) continue;
        const sealed = pending.map((row) => {
          const data = from.decrypt(row.tenant_id, row.connector_id, row.version, {
            keyId: row.key_id,
            nonce: row.nonce,
            ciphertext: row.ciphertext,
            authTag: row.auth_tag,
          });
          return to.encrypt(row.tenant_id, row.connector_id, row.version, data);
        });
        const [, updated]: [unknown, number] = await m.query(
          `UPDATE connector_secrets s
              SET key_id = $1, nonce = u.nonce, ciphertext = u.ciphertext, auth_tag = u.auth_tag
             FROM unnest($2::text[], $3::varchar[], $4::int[], $5::bytea[], $6::bytea[], $7::bytea[])
                  AS u(tenant_id, connector_id, version, nonce, ciphertext, auth_tag)
            WHERE s.tenant_id = u.tenant_id AND s.connector_id = u.connector_id AND s.version = u.version`,
          [
            to.keyId,
            pending.map((r) => r.tenant_id),
            pending.map((r) => r.connector_id),
            pending.map((r) => r.version),
            sealed.map((s) => s.nonce),
            sealed.map((s) => s.ciphertext),
            sealed.map((s) => s.authTag),
          ],
        );
        if (updated !== pending.length) throw new SecretStoreError('UNAVAILABLE', `Re-encryption updated ${updated} of ${pending.length} rows`);
        reencrypted += pending.length;
      }
      return { reencrypted, alreadyCurrent, fromKeyId: from.keyId, toKeyId: to.keyId };
    });
  } catch (error) {
    throw databaseError(error);
  }
}
