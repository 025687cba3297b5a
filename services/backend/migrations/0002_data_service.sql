-- What the data service's API promises, enforced by the schema too, and the indexes of its list orders.
-- Runs in one transaction with search_path set by the migrator: no schema names here.

-- API promises: metadata is a JSON object, versions start at 1, a deletion is never older than the creation.
ALTER TABLE items
  ADD CONSTRAINT items_metadata_object CHECK (jsonb_typeof(metadata) = 'object'),
  ADD CONSTRAINT items_version_positive CHECK (version >= 1),
  ADD CONSTRAINT items_deleted_after_created CHECK (deleted_at IS NULL OR deleted_at >= created_at);

ALTER TABLE users
  ADD CONSTRAINT users_email_length CHECK (char_length(email) BETWEEN 3 AND 320),
  ADD CONSTRAINT users_email_shape CHECK (position('@' IN email) > 1),
  ADD CONSTRAINT users_name_length CHECK (char_length(name) BETWEEN 1 AND 200);

ALTER TABLE audit_log
  ADD CONSTRAINT audit_log_action_known CHECK (action IN ('create', 'update', 'delete', 'undelete'));

ALTER TABLE idempotency_keys
  ADD CONSTRAINT idempotency_keys_key_length CHECK (char_length(key) BETWEEN 1 AND 300);

-- ListItems only ever reads live items, in one of three orders, each ending in id so the keyset cursor is
-- unique, optionally filtered by status. Names sort byte-wise (COLLATE "C") whatever the database's locale.
-- Backward scans serve the descending orders. The full-table indexes of 0001 served none of these queries.
DROP INDEX items_created_at_id_idx;
DROP INDEX items_name_id_idx;
DROP INDEX items_updated_at_id_idx;

CREATE INDEX items_live_created_idx ON items (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX items_live_updated_idx ON items (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX items_live_name_idx ON items (name COLLATE "C", id) WHERE deleted_at IS NULL;
-- 0001's items_live_status_idx is (status, created_at, id) WHERE deleted_at IS NULL.
CREATE INDEX items_live_status_updated_idx ON items (status, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX items_live_status_name_idx ON items (status, name COLLATE "C", id) WHERE deleted_at IS NULL;

-- ListUsers: newest first, by a backward scan.
CREATE INDEX users_created_at_id_idx ON users (created_at, id);
