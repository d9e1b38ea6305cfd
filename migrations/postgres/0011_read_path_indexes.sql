-- Booked transactions listed across all accounts of a tenant (no account filter) come in
-- keyset order from this index instead of a sort over the tenant's rows; the listing of one
-- account uses booked_transactions_listing.
CREATE INDEX booked_transactions_tenant_listing ON booked_transactions (tenant_id, booking_date, id);

-- Recovery leases unfinished transactions on every sweep: this partial index holds only
-- those, so the sweep does not walk the index of every transaction ever run.
CREATE INDEX transactions_open ON transactions (id) WHERE phase NOT IN ('COMPLETED', 'FAILED', 'ABORTED');
