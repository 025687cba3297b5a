-- First schema of the data service. Runs in one transaction (see lib/db/migrate.ts), with
-- search_path set by the migrator: no schema names here. Valid on PostgreSQL 13+ and PGlite.

-- Items: the resource of the data service. `version` is the optimistic-concurrency counter
-- (etag) and `deleted_at` marks a soft delete.
CREATE TABLE items (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL CONSTRAINT items_name_length CHECK (char_length(name) BETWEEN 1 AND 200),
  value jsonb,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  status text NOT NULL DEFAULT 'active' CONSTRAINT items_status_known CHECK (status IN ('active', 'archived')),
  version bigint NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);

-- Keyset pagination: each listing order ends with id so that the cursor is unique.
CREATE INDEX items_created_at_id_idx ON items (created_at, id);
CREATE INDEX items_name_id_idx ON items (name, id);
CREATE INDEX items_updated_at_id_idx ON items (updated_at, id);
CREATE INDEX items_live_status_idx ON items (status, created_at, id) WHERE deleted_at IS NULL;

-- Users. Emails are unique regardless of case; citext is not available everywhere, lower() is.
CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

-- Who changed what, written in the same transaction as the change.
CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  entity text NOT NULL,
  entity_id uuid NOT NULL,
  action text NOT NULL,
  old_value jsonb,
  new_value jsonb,
  request_id text,
  actor text,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id, id);

-- Responses remembered per Idempotency-Key; request_hash detects a key reused for another request.
CREATE TABLE idempotency_keys (
  key text PRIMARY KEY,
  request_hash text NOT NULL,
  response jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

-- Transactional outbox: events written with the change, relayed to Valkey afterwards.
CREATE TABLE outbox (
  id bigserial PRIMARY KEY,
  topic text NOT NULL,
  aggregate_id uuid,
  payload jsonb NOT NULL,
  trace_context jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  relayed_at timestamptz
);

CREATE INDEX outbox_unrelayed_idx ON outbox (id) WHERE relayed_at IS NULL;
