-- A schedule may download an explicit BTF service (EBICS 3.0 BTD with service, scope, option,
-- container and message), stored typed as kontor_protocol::order_type::BtfService (JSON), as
-- orders and permissions already carry it (0010).
ALTER TABLE schedules ADD COLUMN btf_service TEXT;
