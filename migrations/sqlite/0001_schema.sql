-- Kontor schema, version 1. Ids are UUIDv7 strings, timestamps are UTC RFC 3339 strings with
-- microseconds (they sort correctly as text), money is an exact decimal string.
-- Every tenant-owned table carries tenant_id; composite foreign keys (tenant_id, id) make a
-- row point only at rows of its own tenant.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

CREATE TABLE operators (
    id                 TEXT PRIMARY KEY,
    email              TEXT NOT NULL UNIQUE,
    display_name       TEXT NOT NULL,
    current_tenant_id  TEXT REFERENCES tenants (id),
    created_at         TEXT NOT NULL
);

CREATE TABLE memberships (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    operator_id  TEXT NOT NULL REFERENCES operators (id),
    role         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, operator_id)
);

CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    operator_id   TEXT NOT NULL REFERENCES operators (id),
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    expires_at    TEXT,
    revoked_at    TEXT,
    last_used_at  TEXT,
    created_at    TEXT NOT NULL
);
CREATE INDEX api_tokens_operator ON api_tokens (operator_id);

CREATE TABLE bank_hosts (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id),
    host_id           TEXT NOT NULL,
    name              TEXT NOT NULL,
    url               TEXT NOT NULL,
    protocol_version  TEXT NOT NULL,
    btf               INTEGER NOT NULL,
    production        INTEGER NOT NULL,
    created_at        TEXT NOT NULL,
    CONSTRAINT bank_hosts_tenant_host_key UNIQUE (tenant_id, host_id),
    CONSTRAINT bank_hosts_tenant_id_key UNIQUE (tenant_id, id)
);

CREATE TABLE bank_keys (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants (id),
    bank_host_id         TEXT NOT NULL,
    kind                 TEXT NOT NULL,
    version              TEXT NOT NULL,
    public_key           BLOB NOT NULL,
    certificate          BLOB,
    key_hash             TEXT NOT NULL,
    verification_status  TEXT NOT NULL,
    verification_method  TEXT,
    verified_by          TEXT,
    verified_at          TEXT,
    created_at           TEXT NOT NULL,
    FOREIGN KEY (tenant_id, bank_host_id) REFERENCES bank_hosts (tenant_id, id),
    CONSTRAINT bank_keys_host_kind_hash_key UNIQUE (bank_host_id, kind, key_hash)
);
CREATE INDEX bank_keys_tenant_host ON bank_keys (tenant_id, bank_host_id);

CREATE TABLE bank_connections (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    bank_host_id  TEXT NOT NULL,
    partner_id    TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    order_types   TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    FOREIGN KEY (tenant_id, bank_host_id) REFERENCES bank_hosts (tenant_id, id),
    CONSTRAINT bank_connections_host_partner_key UNIQUE (bank_host_id, partner_id),
    CONSTRAINT bank_connections_tenant_id_key UNIQUE (tenant_id, id)
);

CREATE TABLE accounts (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    connection_id    TEXT NOT NULL,
    bank_account_id  TEXT,
    iban             TEXT,
    national_number  TEXT,
    bank_code        TEXT,
    bic              TEXT,
    holder_name      TEXT NOT NULL,
    currency         TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    FOREIGN KEY (tenant_id, connection_id) REFERENCES bank_connections (tenant_id, id),
    CONSTRAINT accounts_connection_iban_key UNIQUE (connection_id, iban),
    CONSTRAINT accounts_tenant_id_key UNIQUE (tenant_id, id)
);

CREATE TABLE ebics_users (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    connection_id      TEXT NOT NULL,
    user_id            TEXT NOT NULL,
    system_id          TEXT,
    name               TEXT NOT NULL,
    status             TEXT NOT NULL,
    signature_class    TEXT NOT NULL,
    permissions_cache  TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    FOREIGN KEY (tenant_id, connection_id) REFERENCES bank_connections (tenant_id, id),
    CONSTRAINT ebics_users_connection_user_key UNIQUE (connection_id, user_id),
    CONSTRAINT ebics_users_tenant_id_key UNIQUE (tenant_id, id)
);

CREATE TABLE operator_grants (
    tenant_id      TEXT NOT NULL REFERENCES tenants (id),
    operator_id    TEXT NOT NULL REFERENCES operators (id),
    ebics_user_id  TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, operator_id, ebics_user_id),
    FOREIGN KEY (tenant_id, ebics_user_id) REFERENCES ebics_users (tenant_id, id)
);

CREATE TABLE key_pairs (
    id                     TEXT PRIMARY KEY,
    tenant_id              TEXT NOT NULL REFERENCES tenants (id),
    ebics_user_id          TEXT NOT NULL,
    usage                  TEXT NOT NULL,
    version                TEXT NOT NULL,
    status                 TEXT NOT NULL,
    public_key             BLOB NOT NULL,
    encrypted_private_key  BLOB NOT NULL,
    key_hash               TEXT NOT NULL,
    certificate            BLOB,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL,
    FOREIGN KEY (tenant_id, ebics_user_id) REFERENCES ebics_users (tenant_id, id)
);
CREATE INDEX key_pairs_tenant_user ON key_pairs (tenant_id, ebics_user_id, usage);

CREATE TABLE permissions (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants (id),
    ebics_user_id        TEXT NOT NULL,
    order_type           TEXT NOT NULL,
    account_id           TEXT,
    authorisation_level  TEXT NOT NULL,
    max_amount           TEXT,
    currency             TEXT,
    created_at           TEXT NOT NULL,
    FOREIGN KEY (tenant_id, ebics_user_id) REFERENCES ebics_users (tenant_id, id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id)
);
CREATE INDEX permissions_tenant_user ON permissions (tenant_id, ebics_user_id, order_type);

CREATE TABLE files (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    kind          TEXT NOT NULL,
    path          TEXT,
    content       BLOB,
    size          BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    CONSTRAINT files_tenant_id_key UNIQUE (tenant_id, id)
);

CREATE TABLE orders (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id),
    ebics_user_id     TEXT NOT NULL,
    order_type        TEXT NOT NULL,
    btf_service       TEXT,
    status            TEXT NOT NULL,
    bank_order_id     TEXT,
    signature_rule    TEXT NOT NULL,
    content_file_id   TEXT NOT NULL,
    content_hash      TEXT NOT NULL,
    content_size      BIGINT NOT NULL,
    amount_total      TEXT,
    currency          TEXT,
    idempotency_key   TEXT,
    transaction_id    TEXT,
    bank_return_code  TEXT,
    bank_return_text  TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    FOREIGN KEY (tenant_id, ebics_user_id) REFERENCES ebics_users (tenant_id, id),
    FOREIGN KEY (tenant_id, content_file_id) REFERENCES files (tenant_id, id),
    CONSTRAINT orders_tenant_id_key UNIQUE (tenant_id, id),
    CONSTRAINT orders_tenant_idempotency_key UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX orders_tenant_status ON orders (tenant_id, status);
-- The same file for the same user and order type is one order while it is alive: a second
-- create is a duplicate payment, not a new one.
CREATE UNIQUE INDEX orders_live_content_key ON orders (tenant_id, ebics_user_id, order_type, content_hash)
    WHERE status <> 'CANCELLED' AND status <> 'REJECTED';

CREATE TABLE order_signatures (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    order_id           TEXT NOT NULL,
    signer_id          TEXT NOT NULL,
    signature_class    TEXT NOT NULL,
    signature_version  TEXT NOT NULL,
    signed_hash        TEXT NOT NULL,
    signature_value    BLOB NOT NULL,
    created_at         TEXT NOT NULL,
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id),
    FOREIGN KEY (tenant_id, signer_id) REFERENCES ebics_users (tenant_id, id),
    CONSTRAINT order_signatures_order_signer_key UNIQUE (order_id, signer_id)
);

CREATE TABLE veu_items (
    id                    TEXT PRIMARY KEY,
    tenant_id             TEXT NOT NULL REFERENCES tenants (id),
    connection_id         TEXT NOT NULL,
    bank_order_id         TEXT NOT NULL,
    order_type            TEXT NOT NULL,
    signatures_collected  BIGINT NOT NULL,
    signatures_required   BIGINT NOT NULL,
    amount                TEXT,
    currency              TEXT,
    originator            TEXT,
    expires_at            TEXT,
    status                TEXT NOT NULL,
    synced_at             TEXT NOT NULL,
    created_at            TEXT NOT NULL,
    FOREIGN KEY (tenant_id, connection_id) REFERENCES bank_connections (tenant_id, id),
    CONSTRAINT veu_items_connection_order_key UNIQUE (connection_id, bank_order_id, order_type),
    CONSTRAINT veu_items_tenant_id_key UNIQUE (tenant_id, id)
);

CREATE TABLE veu_signers (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    veu_item_id      TEXT NOT NULL,
    partner_id       TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    name             TEXT,
    signature_class  TEXT NOT NULL,
    signed_at        TEXT,
    FOREIGN KEY (tenant_id, veu_item_id) REFERENCES veu_items (tenant_id, id),
    CONSTRAINT veu_signers_item_user_key UNIQUE (veu_item_id, partner_id, user_id)
);

CREATE TABLE transactions (
    id                         TEXT PRIMARY KEY,
    tenant_id                  TEXT NOT NULL REFERENCES tenants (id),
    ebics_user_id              TEXT NOT NULL,
    bank_transaction_id        TEXT,
    direction                  TEXT NOT NULL,
    phase                      TEXT NOT NULL,
    order_type                 TEXT NOT NULL,
    btf_params                 TEXT,
    order_id                   TEXT,
    file_id                    TEXT,
    num_segments               BIGINT,
    last_acknowledged_segment  BIGINT NOT NULL,
    recovery                   TEXT NOT NULL,
    failure_code               TEXT,
    failure_text               TEXT,
    lease_owner                TEXT,
    lease_expires_at           TEXT,
    created_at                 TEXT NOT NULL,
    updated_at                 TEXT NOT NULL,
    FOREIGN KEY (tenant_id, ebics_user_id) REFERENCES ebics_users (tenant_id, id),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id),
    FOREIGN KEY (tenant_id, file_id) REFERENCES files (tenant_id, id),
    CONSTRAINT transactions_tenant_id_key UNIQUE (tenant_id, id)
);
CREATE INDEX transactions_tenant_phase ON transactions (tenant_id, phase);
CREATE INDEX transactions_unfinished ON transactions (phase, lease_expires_at);

CREATE TABLE segments (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    transaction_id  TEXT NOT NULL,
    number          BIGINT NOT NULL,
    is_last         INTEGER NOT NULL,
    status          TEXT NOT NULL,
    checksum        TEXT NOT NULL,
    size            BIGINT NOT NULL,
    retry_count     BIGINT NOT NULL,
    updated_at      TEXT NOT NULL,
    FOREIGN KEY (tenant_id, transaction_id) REFERENCES transactions (tenant_id, id),
    CONSTRAINT segments_transaction_number_key UNIQUE (transaction_id, number)
);

CREATE TABLE transaction_events (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    transaction_id  TEXT NOT NULL,
    seq             BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    context         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    FOREIGN KEY (tenant_id, transaction_id) REFERENCES transactions (tenant_id, id),
    CONSTRAINT transaction_events_transaction_seq_key UNIQUE (transaction_id, seq)
);

CREATE TABLE schedules (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id),
    ebics_user_id     TEXT NOT NULL,
    account_id        TEXT,
    order_type        TEXT NOT NULL,
    cron              TEXT NOT NULL,
    time_zone         TEXT NOT NULL,
    enabled           INTEGER NOT NULL,
    next_run_at       TEXT NOT NULL,
    last_run_at       TEXT,
    lease_owner       TEXT,
    lease_expires_at  TEXT,
    created_at        TEXT NOT NULL,
    FOREIGN KEY (tenant_id, ebics_user_id) REFERENCES ebics_users (tenant_id, id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id),
    CONSTRAINT schedules_tenant_id_key UNIQUE (tenant_id, id)
);
CREATE INDEX schedules_due ON schedules (enabled, next_run_at);

CREATE TABLE job_runs (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    schedule_id  TEXT NOT NULL,
    owner        TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    outcome      TEXT,
    detail       TEXT,
    FOREIGN KEY (tenant_id, schedule_id) REFERENCES schedules (tenant_id, id)
);
CREATE INDEX job_runs_schedule ON job_runs (tenant_id, schedule_id);

CREATE TABLE statements (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id),
    account_id     TEXT NOT NULL,
    format         TEXT NOT NULL,
    statement_ref  TEXT NOT NULL,
    period_from    TEXT,
    period_to      TEXT,
    file_id        TEXT,
    created_at     TEXT NOT NULL,
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id),
    FOREIGN KEY (tenant_id, file_id) REFERENCES files (tenant_id, id),
    CONSTRAINT statements_tenant_id_key UNIQUE (tenant_id, id)
);
CREATE INDEX statements_account ON statements (tenant_id, account_id, period_to);

CREATE TABLE balances (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    account_id    TEXT NOT NULL,
    statement_id  TEXT,
    kind          TEXT NOT NULL,
    balance_date  TEXT NOT NULL,
    amount        TEXT NOT NULL,
    currency      TEXT NOT NULL,
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id),
    FOREIGN KEY (tenant_id, statement_id) REFERENCES statements (tenant_id, id),
    CONSTRAINT balances_account_kind_date_key UNIQUE (account_id, kind, balance_date)
);

CREATE TABLE booked_transactions (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    account_id         TEXT NOT NULL,
    statement_id       TEXT,
    booking_date       TEXT NOT NULL,
    value_date         TEXT,
    amount             TEXT NOT NULL,
    currency           TEXT NOT NULL,
    credit_debit       TEXT NOT NULL,
    counterparty_name  TEXT,
    counterparty_iban  TEXT,
    remittance         TEXT,
    bank_reference     TEXT,
    end_to_end_id      TEXT,
    dedupe_key         TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id),
    FOREIGN KEY (tenant_id, statement_id) REFERENCES statements (tenant_id, id),
    CONSTRAINT booked_transactions_account_dedupe_key UNIQUE (account_id, dedupe_key)
);
CREATE INDEX booked_transactions_listing ON booked_transactions (tenant_id, account_id, booking_date, id);

-- The audit trail is append-only.
CREATE TRIGGER transaction_events_no_update BEFORE UPDATE ON transaction_events
BEGIN SELECT RAISE(ABORT, 'transaction_events is append-only'); END;
CREATE TRIGGER transaction_events_no_delete BEFORE DELETE ON transaction_events
BEGIN SELECT RAISE(ABORT, 'transaction_events is append-only'); END;
