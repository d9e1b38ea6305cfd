-- A downloaded statement file and how its ingestion went. The file itself stays in `files`
-- whatever happens: a file that does not parse (or a ZIP container that is refused) is kept
-- with its status and error, visible to operators, and can be ingested again once the cause
-- is fixed (bookings are de-duplicated, so a second run books only what the first missed).
CREATE TABLE statement_files (
    id                    TEXT PRIMARY KEY,
    tenant_id             TEXT NOT NULL REFERENCES tenants (id),
    file_id               TEXT NOT NULL,
    ebics_user_id         TEXT NOT NULL,
    transaction_id        TEXT,
    order_type            TEXT NOT NULL,
    container             TEXT,
    status                TEXT NOT NULL,
    error                 TEXT,
    members               TEXT NOT NULL DEFAULT '[]',
    statements_seen       BIGINT NOT NULL DEFAULT 0,
    statements_unmatched  BIGINT NOT NULL DEFAULT 0,
    bookings_new          BIGINT NOT NULL DEFAULT 0,
    bookings_known        BIGINT NOT NULL DEFAULT 0,
    attempts              BIGINT NOT NULL DEFAULT 0,
    created_at            TEXT NOT NULL,
    last_attempt_at       TEXT,
    FOREIGN KEY (tenant_id, file_id) REFERENCES files (tenant_id, id),
    FOREIGN KEY (tenant_id, ebics_user_id) REFERENCES ebics_users (tenant_id, id),
    CONSTRAINT statement_files_tenant_id_key UNIQUE (tenant_id, id),
    CONSTRAINT statement_files_file_key UNIQUE (tenant_id, file_id)
);
CREATE INDEX statement_files_tenant_status ON statement_files (tenant_id, status);
