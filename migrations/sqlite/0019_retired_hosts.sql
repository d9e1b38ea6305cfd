-- A host that still has connections is retired instead of deleted: its users, orders,
-- statements and audit trail stay readable, and nothing is sent to it any more.
ALTER TABLE bank_hosts ADD COLUMN retired_at TEXT;
ALTER TABLE bank_hosts ADD COLUMN retired_by TEXT;
