-- What an order's payment file contains (the summary a signer sees and the EBICS order data
-- digest), stored when the order is created, so showing an order reads a row instead of
-- reading and parsing its file. Orders of earlier versions have none; their view reads the file.
CREATE TABLE order_summaries (
    order_id           TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    summary            TEXT NOT NULL,
    order_data_digest  TEXT NOT NULL,
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id) ON DELETE CASCADE
);

-- The orphan file cleanup asks, per file on disk, whether a files row names it.
CREATE INDEX files_tenant_path ON files (tenant_id, path);
