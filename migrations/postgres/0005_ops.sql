-- Statement ingestion: the same statement downloaded again (overlapping or repeated
-- downloads) is the same row, so ingestion can find it instead of adding a copy.
CREATE UNIQUE INDEX statements_account_format_ref_key
    ON statements (tenant_id, account_id, format, statement_ref);
