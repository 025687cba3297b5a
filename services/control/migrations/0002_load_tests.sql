-- Load tests and their results, comparable across runs.
CREATE TABLE load_tests (
  id          uuid PRIMARY KEY,
  name        text NOT NULL DEFAULT '',
  -- The target as one string (e.g. "GET /v1/items" or "rpc mesh.data.v1.DataService/ListItems"), for lookups.
  target      text NOT NULL,
  -- mesh.control.v1.LoadTestSpec and LoadTestProgress in proto3 JSON.
  spec        jsonb NOT NULL,
  progress    jsonb NOT NULL DEFAULT '{}',
  state       smallint NOT NULL,
  error       text NOT NULL DEFAULT '',
  start_time  timestamptz NOT NULL DEFAULT now(),
  end_time    timestamptz
);
CREATE INDEX load_tests_start_time ON load_tests (start_time DESC, id DESC);
