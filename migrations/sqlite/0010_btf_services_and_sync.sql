-- BTF services travel typed (kontor_protocol::order_type::BtfService, stored as JSON): the
-- services a bank offers under BTU/BTD (HTD/HKD), and the service a permission is limited to.
-- Before this, BTU/SCT and BTU/SDD collapsed into two identical "BTU" permissions.
ALTER TABLE bank_connections ADD COLUMN btf_offers TEXT NOT NULL DEFAULT '[]';
ALTER TABLE permissions ADD COLUMN btf_service TEXT;

-- The order-type/permission sync (HTD/HKD/HAA) of a user: when it last succeeded, and why the
-- last attempt failed (the bank's return code or Kontor's error class, and a message), so an
-- operator sees a failed sync and can run it again.
ALTER TABLE ebics_users ADD COLUMN synced_at TEXT;
ALTER TABLE ebics_users ADD COLUMN sync_failure_code TEXT;
ALTER TABLE ebics_users ADD COLUMN sync_failure_message TEXT;

-- Recovery gives up after a bounded number of passes over an unfinished transaction.
ALTER TABLE transactions ADD COLUMN recovery_attempts INTEGER NOT NULL DEFAULT 0;
