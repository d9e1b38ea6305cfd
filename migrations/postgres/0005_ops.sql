-- Statement ingestion: the same statement downloaded again (overlapping or repeated
-- downloads) is the same row, so ingestion can find it instead of adding a copy.
CREATE UNIQUE INDEX statements_account_format_ref_key
    ON statements (tenant_id, account_id, format, statement_ref);

-- Order submission: the attempt that claimed an order holds it until this lease expires;
-- only then may another instance take over an attempt that left no upload transaction.
ALTER TABLE orders ADD COLUMN submit_lease_owner TEXT;
ALTER TABLE orders ADD COLUMN submit_lease_expires_at TEXT;
