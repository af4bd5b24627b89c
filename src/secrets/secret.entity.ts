import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * One version of a connector's credentials in the local store: AES-256-GCM ciphertext of the
 * version's JSON under a per-tenant key derived from the master key (see local.store.ts). Nothing
 * in a row is plaintext secret material; `key_id` only names the master key that encrypted it.
 */
@Entity('connector_secrets')
export class ConnectorSecretEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'text' })
  tenantId!: string;

  @PrimaryColumn({ name: 'connector_id', type: 'varchar', length: 40 })
  connectorId!: string;

  /** 1, 2, 3, ... per (tenant, connector); restarts at 1 after a purge. */
  @PrimaryColumn({ type: 'int' })
  version!: number;

  /** First 8 bytes of SHA-256 of the master key, hex: tells a rotated-away key from corruption. */
  @Column({ name: 'key_id', type: 'text' })
  keyId!: string;

  /** 12 random bytes, fresh for every encryption. */
  @Column({ type: 'bytea' })
  nonce!: Buffer;

  @Column({ type: 'bytea' })
  ciphertext!: Buffer;

  /** The 16-byte GCM authentication tag. */
  @Column({ name: 'auth_tag', type: 'bytea' })
  authTag!: Buffer;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
