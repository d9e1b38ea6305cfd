-- Certificates (issue 13). A host may want X.509 certificates with the keys on H004 too
-- (French banks, EBICS 2.5 with certificates), and may name the CA certificates (PEM) its
-- bank keys' certificates must chain to. A key pair remembers when its certificate's expiry
-- warning was given, so it is logged and audited once.
ALTER TABLE bank_hosts ADD COLUMN x509_on_h004 BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE bank_hosts ADD COLUMN bank_ca_pem TEXT;
ALTER TABLE key_pairs ADD COLUMN expiry_warned_at TEXT;
