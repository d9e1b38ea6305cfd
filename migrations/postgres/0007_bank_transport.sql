-- Bank transport: PEM certificates a host's TLS certificate may chain to, for a bank's test
-- system or private CA (in addition to the web and platform roots). NULL: roots only.
ALTER TABLE bank_hosts ADD COLUMN ca_bundle_pem TEXT;
