-- Signer-held signature keys: the daemon stores only the public key (and certificate) of a
-- key whose private part a signer keeps on their own machine. `custody` says who holds the
-- private key; a SIGNER key has no ciphertext at all, enforced by the CHECK.
-- SQLite cannot drop NOT NULL in place, so key_pairs is rebuilt (nothing references it).

CREATE TABLE key_pairs_new (
    id                     TEXT PRIMARY KEY,
    tenant_id              TEXT NOT NULL REFERENCES tenants (id),
    ebics_user_id          TEXT NOT NULL,
    usage                  TEXT NOT NULL,
    version                TEXT NOT NULL,
    status                 TEXT NOT NULL,
    public_key             BLOB NOT NULL,
    encrypted_private_key  BLOB,
    key_hash               TEXT NOT NULL,
    certificate            BLOB,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL,
    custody                TEXT NOT NULL DEFAULT 'DAEMON',
    FOREIGN KEY (tenant_id, ebics_user_id) REFERENCES ebics_users (tenant_id, id),
    CONSTRAINT key_pairs_custody_check CHECK (
        (custody = 'DAEMON' AND encrypted_private_key IS NOT NULL)
        OR (custody = 'SIGNER' AND encrypted_private_key IS NULL AND usage = 'SIGNATURE')
    )
);
INSERT INTO key_pairs_new (id, tenant_id, ebics_user_id, usage, version, status, public_key,
    encrypted_private_key, key_hash, certificate, created_at, updated_at, custody)
SELECT id, tenant_id, ebics_user_id, usage, version, status, public_key,
    encrypted_private_key, key_hash, certificate, created_at, updated_at, 'DAEMON'
FROM key_pairs;
DROP TABLE key_pairs;
ALTER TABLE key_pairs_new RENAME TO key_pairs;
CREATE INDEX key_pairs_tenant_user ON key_pairs (tenant_id, ebics_user_id, usage);
