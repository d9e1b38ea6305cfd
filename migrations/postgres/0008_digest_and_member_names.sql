-- VEU: the order data digest a signer signs (HVZ or HVD `DataDigest`, lower-case hex) and the
-- signature version the bank announced with it. Stored when the bank reports it, so reading it
-- never needs a conversation with the bank.
ALTER TABLE veu_items ADD COLUMN data_digest TEXT;
ALTER TABLE veu_items ADD COLUMN data_digest_version TEXT;

-- An operator's display name as this tenant knows them: operators are global (one e-mail,
-- one login across tenants), so a name one tenant gave must not show in another.
ALTER TABLE memberships ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
UPDATE memberships SET display_name = (
    SELECT operators.display_name FROM operators WHERE operators.id = memberships.operator_id
);
