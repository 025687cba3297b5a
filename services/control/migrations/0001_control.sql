-- The control plane's own tables, in the `control` schema (the migrator sets search_path to it).

-- One traffic policy per service, versioned for optimistic concurrency.
CREATE TABLE policies (
  service     text PRIMARY KEY CHECK (service ~ '^[A-Za-z0-9._-]{1,100}$'),
  -- mesh.control.v1.ServicePolicy in proto3 JSON, without version and times.
  policy      jsonb NOT NULL,
  version     bigint NOT NULL CHECK (version > 0),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  updated_by  text NOT NULL DEFAULT ''
);

-- The mesh event log: instances, breakers, policies, faults, scaling, load tests.
CREATE TABLE mesh_events (
  sequence     bigserial PRIMARY KEY,
  type         smallint NOT NULL CHECK (type > 0),
  time         timestamptz NOT NULL DEFAULT now(),
  service      text NOT NULL DEFAULT '',
  instance_id  text NOT NULL DEFAULT '',
  message      text NOT NULL,
  attributes   jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX mesh_events_service_sequence ON mesh_events (service, sequence DESC);
CREATE INDEX mesh_events_type_sequence ON mesh_events (type, sequence DESC);
