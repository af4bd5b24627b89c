import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A push connector's intake token as stored: metadata, a display prefix and the SHA-256 of the
 * token. The token itself is returned once by `createIntakeToken` and never stored.
 */
@Entity('intake_tokens')
export class IntakeTokenEntity {
  /** `itk_` + ULID. */
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id!: string;

  @Column({ name: 'tenant_id', type: 'text' })
  tenantId!: string;

  @Column({ name: 'connector_id', type: 'varchar', length: 40 })
  connectorId!: string;

  @Column({ type: 'text' })
  name!: string;

  /** The first characters of the token's secret part (after `hec_`), to tell tokens apart. */
  @Column({ type: 'text' })
  prefix!: string;

  /** Hex SHA-256 of the issued token: how a presented token is found, and the only trace of it. */
  @Column({ name: 'token_sha256', type: 'char', length: 64 })
  tokenSha256!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'created_by', type: 'text', nullable: true })
  createdBy!: string | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  @Column({ name: 'revoked_by', type: 'text', nullable: true })
  revokedBy!: string | null;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;
}
