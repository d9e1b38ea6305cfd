-- Webhooks (issue 14): per-tenant subscriptions, the transactional outbox of events and one
-- delivery row per (event, subscription), written in the same transaction as the state change
-- that caused the event. Deliveries are leased across instances like transactions and schedules.
CREATE TABLE webhook_subscriptions (
    id                     TEXT PRIMARY KEY,
    tenant_id              TEXT NOT NULL REFERENCES tenants (id),
    url                    TEXT NOT NULL,
    description            TEXT,
    -- JSON array of event types; empty means every event type.
    event_types            TEXT NOT NULL DEFAULT '[]',
    status                 TEXT NOT NULL,
    -- The signing secret, encrypted under the master key (bound to tenant and subscription).
    secret                 BLOB   NOT NULL,
    -- The secret before the last rotation; it signs as well until previous_secret_until.
    previous_secret        BLOB  ,
    previous_secret_until  TEXT,
    parked_at              TEXT,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL,
    CONSTRAINT webhook_subscriptions_tenant_id_key UNIQUE (tenant_id, id)
);

CREATE TABLE webhook_events (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    event_type  TEXT NOT NULL,
    -- The exact body every delivery of the event sends (and signs).
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    CONSTRAINT webhook_events_tenant_id_key UNIQUE (tenant_id, id)
);

CREATE TABLE webhook_deliveries (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL REFERENCES tenants (id),
    subscription_id     TEXT NOT NULL,
    event_id            TEXT NOT NULL,
    event_type          TEXT NOT NULL,
    status              TEXT NOT NULL,
    attempts            BIGINT NOT NULL DEFAULT 0,
    next_attempt_at     TEXT NOT NULL,
    last_attempt_at     TEXT,
    last_response_code  BIGINT,
    last_error          TEXT,
    delivered_at        TEXT,
    lease_owner         TEXT,
    lease_expires_at    TEXT,
    created_at          TEXT NOT NULL,
    FOREIGN KEY (tenant_id, subscription_id) REFERENCES webhook_subscriptions (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, event_id) REFERENCES webhook_events (tenant_id, id),
    CONSTRAINT webhook_deliveries_tenant_id_key UNIQUE (tenant_id, id)
);
-- The worker's lease walks pending deliveries by due time; order per subscription by id (UUIDv7).
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id, status, id);

-- The delivery log: one row per HTTP attempt with the receiver's status code or the error.
CREATE TABLE webhook_attempts (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id),
    delivery_id    TEXT NOT NULL,
    attempted_at   TEXT NOT NULL,
    response_code  BIGINT,
    error          TEXT,
    duration_ms    BIGINT NOT NULL,
    FOREIGN KEY (tenant_id, delivery_id) REFERENCES webhook_deliveries (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempted_at);
