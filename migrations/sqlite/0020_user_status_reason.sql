-- Why a user is LOCKED or SUSPENDED, as the bank said it: its return code and text (091002
-- EBICS_INVALID_USER_OR_USER_STATE for a lock; the confirmation of SPR for a suspension) and
-- when. Cleared by the next move of the user's status (re-activation).
ALTER TABLE ebics_users ADD COLUMN status_reason_code TEXT;
ALTER TABLE ebics_users ADD COLUMN status_reason_message TEXT;
ALTER TABLE ebics_users ADD COLUMN status_reason_at TEXT;
