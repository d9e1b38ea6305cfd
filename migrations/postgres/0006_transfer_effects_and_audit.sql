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

ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_events
    USING (tenant_id = current_setting('kontor.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('kontor.tenant_id', true));
GRANT SELECT, INSERT ON audit_events TO kontor_app;

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
