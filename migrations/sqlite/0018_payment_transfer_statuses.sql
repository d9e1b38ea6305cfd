-- The bank's status of each transfer of a payment order, by end-to-end id, as the last
-- pain.002 status report listed it (TxInfAndSts). Transfers the bank did not list take the
-- order's status. Written by order completion, read by GET /v1/payments/{id}.
CREATE TABLE payment_transfer_statuses (
    tenant_id      TEXT NOT NULL REFERENCES tenants (id),
    order_id       TEXT NOT NULL,
    end_to_end_id  TEXT NOT NULL,
    status         TEXT NOT NULL,
    reason_code    TEXT,
    reported_at    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, order_id, end_to_end_id),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id)
);
