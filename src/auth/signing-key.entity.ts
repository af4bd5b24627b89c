import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { JWK } from 'jose';

/**
 * One of the service's own signing keys. The private JWK is stored only encrypted
 * (AES-256-GCM, see signing-keys.ts); the public JWK is what `/.well-known/jwks.json` publishes.
 */
@Entity('signing_keys')
export class SigningKeyEntity {
  @PrimaryColumn({ type: 'text' })
  kid!: string;

  @Column({ type: 'text' })
  alg!: string;

  @Column({ name: 'public_jwk', type: 'jsonb' })
  publicJwk!: JWK;

  @Column({ name: 'private_jwk_encrypted', type: 'text' })
  privateJwkEncrypted!: string;

  /** The key new tokens are signed with; exactly one is active. */
  @Column({ type: 'boolean' })
  active!: boolean;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  /** When a rotation superseded it; it still verifies the tokens it signed. */
  @Column({ name: 'retired_at', type: 'timestamptz', nullable: true })
  retiredAt!: Date | null;
}
