-- Bank key rollover (issue 13). A host keeps every key HPB delivered: each new key of a kind
-- gets the next generation (1, 2, ...) and marks the one it replaces superseded, so the old
-- verified keys stay readable while the new ones wait for the operator's verification.
ALTER TABLE bank_keys ADD COLUMN generation INTEGER NOT NULL DEFAULT 1;
ALTER TABLE bank_keys ADD COLUMN superseded_at TEXT;
-- A scheduled run that could not reach the bank because its host's keys await verification
-- is HELD, not failed: verification makes the schedule due again at once.
ALTER TABLE schedules ADD COLUMN held_at TEXT;
-- The bank's parameters from HPD (protocol versions, recovery, client data download), JSON,
-- fetched with every sync: the client honours them (no recovery where the bank has none).
ALTER TABLE bank_hosts ADD COLUMN bank_parameters TEXT;
