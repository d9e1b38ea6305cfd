-- A finished transfer's business effect (statements ingested, order settled) must follow its
-- completion whoever completed it: the request that started it, or recovery in any instance
-- after a crash. The effect is named when the transaction is created and marked done in the
-- same database transaction that applies it; a sweep applies effects left pending.
ALTER TABLE transactions ADD COLUMN effect TEXT;
ALTER TABLE transactions ADD COLUMN effect_done_at TEXT;
ALTER TABLE transactions ADD COLUMN effect_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE transactions ADD COLUMN effect_error TEXT;
CREATE INDEX transactions_effect_pending ON transactions (lease_expires_at)
    WHERE effect IS NOT NULL AND effect_done_at IS NULL;

-- Who did what in a tenant (operator actions and key events). Append-only.
CREATE TABLE audit_events (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    actor_kind   TEXT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    target_kind  TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    detail       TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX audit_events_tenant_created ON audit_events (tenant_id, created_at);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
