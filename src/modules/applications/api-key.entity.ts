import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ApiKeyScope } from './api-key.scope.js';

/**
 * An application's API key as stored: metadata, a display prefix and the SHA-256 of the token.
 * The token itself is returned once by `createApiKey` and never stored.
 */
@Entity('api_keys')
export class ApiKeyEntity {
  /** `key_` + ULID; the token's `sub`. */
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id!: string;

  @Column({ name: 'tenant_id', type: 'text' })
  tenantId!: string;

  @Column({ name: 'application_id', type: 'varchar', length: 40 })
  applicationId!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  prefix!: string;

  @Column({ type: 'text' })
  scope!: ApiKeyScope;

  /** Hex SHA-256 of the issued token: only that exact token authenticates as this key. */
  @Column({ name: 'token_sha256', type: 'char', length: 64 })
  tokenSha256!: string;

  /** The signing key the token was signed with. */
  @Column({ type: 'text' })
  kid!: string;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  @Column({ name: 'revoked_by', type: 'text', nullable: true })
  revokedBy!: string | null;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'created_by', type: 'text', nullable: true })
  createdBy!: string | null;
}
