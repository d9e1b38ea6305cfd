-- Tenant administration over the API: an API token acts for one operator in ONE tenant
-- (chosen when it is issued), so an operator of several tenants holds one token per tenant
-- and removing them from a tenant revokes exactly that tenant's tokens. A token without a
-- tenant is a platform administrator's (creates and lists tenants, reaches no tenant data).
ALTER TABLE api_tokens ADD COLUMN tenant_id TEXT REFERENCES tenants (id);
UPDATE api_tokens SET tenant_id = (
    SELECT operators.current_tenant_id FROM operators WHERE operators.id = api_tokens.operator_id
);
CREATE INDEX api_tokens_tenant_operator ON api_tokens (tenant_id, operator_id, id);
ALTER TABLE operators ADD COLUMN platform_admin BOOLEAN NOT NULL DEFAULT FALSE;

-- Every state-changing API call is audited with its request id and outcome (a refusal with
-- its stable error code included).
ALTER TABLE audit_events ADD COLUMN operation TEXT;
ALTER TABLE audit_events ADD COLUMN request_id TEXT;
ALTER TABLE audit_events ADD COLUMN outcome TEXT NOT NULL DEFAULT 'SUCCEEDED';
ALTER TABLE audit_events ADD COLUMN error_code TEXT;

-- Keyset pages, newest first, walk (tenant_id, id) backwards; ids are UUIDv7 (creation
-- order). Most tables have the unique (tenant_id, id) key already; these do not, or are also
-- listed for operators restricted to some EBICS users.
CREATE INDEX audit_events_tenant_id ON audit_events (tenant_id, id);
CREATE INDEX orders_tenant_user_id ON orders (tenant_id, ebics_user_id, id);
CREATE INDEX transactions_tenant_user_id ON transactions (tenant_id, ebics_user_id, id);
CREATE INDEX statement_files_tenant_user_id ON statement_files (tenant_id, ebics_user_id, id);
CREATE INDEX statements_tenant_account_id ON statements (tenant_id, account_id, id);

-- Owners manage their tenant's tokens through scoped transactions (role kontor_app), so the
-- tokens are a tenant table for that role: row-level security keyed on kontor.tenant_id.
-- Not FORCEd: the token check itself (before any tenant is known) and the platform
-- administrator's tokens are read by the daemon's owning role, like `operators`.
ALTER TABLE api_tokens ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_tokens
    USING (tenant_id = current_setting('kontor.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('kontor.tenant_id', true));
GRANT SELECT, INSERT, UPDATE ON api_tokens TO kontor_app;
