-- Second wall behind the repository layer: row-level security keyed on the per-transaction
-- setting kontor.tenant_id. Scoped work runs as the non-superuser role kontor_app (superusers
-- bypass RLS), set with SET LOCAL ROLE by the repository layer.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kontor_app') THEN
        CREATE ROLE kontor_app NOLOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO kontor_app;

DO $$
DECLARE
    t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        'memberships', 'operator_grants', 'bank_hosts', 'bank_keys', 'bank_connections', 'accounts',
        'ebics_users', 'key_pairs', 'permissions', 'files', 'orders', 'order_signatures',
        'veu_items', 'veu_signers', 'transactions', 'segments', 'transaction_events',
        'schedules', 'job_runs', 'statements', 'balances', 'booked_transactions'
    ]
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''kontor.tenant_id'', true)) '
            'WITH CHECK (tenant_id = current_setting(''kontor.tenant_id'', true))', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO kontor_app', t);
    END LOOP;
END
$$;

-- Scoped work reads the tenant row and the operator rows it references.
GRANT SELECT ON tenants, operators TO kontor_app;

-- The audit trail is append-only, for every role.
CREATE FUNCTION transaction_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'transaction_events is append-only';
END
$$;
CREATE TRIGGER transaction_events_append_only BEFORE UPDATE OR DELETE ON transaction_events
    FOR EACH ROW EXECUTE FUNCTION transaction_events_append_only();
REVOKE UPDATE, DELETE ON transaction_events FROM kontor_app;

-- The daemon's cross-tenant leasing (kontor-storage `system` module) may see and lease due
-- schedules and unfinished transactions of every tenant, and nothing else.
CREATE POLICY system_lease ON schedules USING (current_setting('kontor.system', true) = 'lease');
CREATE POLICY system_lease ON transactions USING (current_setting('kontor.system', true) = 'lease');
