-- Key pairs now complete their lifecycle: PENDING -> SUBMITTED -> ACTIVE once the user is READY
-- (the bank activated the subscriber), EXPIRED when a key change replaced them. Keys of users
-- that are READY already were accepted by the bank: they are ACTIVE.
UPDATE key_pairs SET status = 'ACTIVE'
WHERE status = 'SUBMITTED'
  AND EXISTS (
      SELECT 1 FROM ebics_users u
      WHERE u.tenant_id = key_pairs.tenant_id
        AND u.id = key_pairs.ebics_user_id
        AND u.status = 'READY'
  );
