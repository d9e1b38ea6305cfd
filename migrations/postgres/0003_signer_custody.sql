-- Signer-held signature keys: the daemon stores only the public key (and certificate) of a
-- key whose private part a signer keeps on their own machine. `custody` says who holds the
-- private key; a SIGNER key has no ciphertext at all, enforced by the CHECK.

ALTER TABLE key_pairs ADD COLUMN custody TEXT NOT NULL DEFAULT 'DAEMON';
ALTER TABLE key_pairs ALTER COLUMN encrypted_private_key DROP NOT NULL;
ALTER TABLE key_pairs ADD CONSTRAINT key_pairs_custody_check CHECK (
    (custody = 'DAEMON' AND encrypted_private_key IS NOT NULL)
    OR (custody = 'SIGNER' AND encrypted_private_key IS NULL AND usage = 'SIGNATURE')
);
