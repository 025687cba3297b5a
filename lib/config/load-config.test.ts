import { z } from "zod";
import { describe, expect, it } from "vitest";
import { ConfigError, env, loadConfig, processConfigShape } from "./load-config.ts";

type Outcome = { value: unknown } | { problem: string };

/** Loads `{ X: input }` with `X` parsed by `parser`: the value, or the one problem reported. */
function loadOne(parser: z.ZodType, input: string | undefined): Outcome {
  try {
    return { value: loadConfig(z.object({ X: parser }), { X: input }).X };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    expect(err.problems).toHaveLength(1);
    return { problem: err.problems[0]! };
  }
}

const port = "expected an integer from 0 to 65535";
const postgres = "expected a URL starting with postgres:// or postgresql://";
const nameForm = "expected 1 to 100 characters of A-Z, a-z, 0-9, '.', '_' or '-'";

describe("env helpers", () => {
  it.each<[string, z.ZodType, string | undefined, Outcome]>([
    ["port: unset takes the fallback", env.port(8080), undefined, { value: 8080 }],
    ["port: empty is unset", env.port(8080), "", { value: 8080 }],
    ["port: 0 picks a free port", env.port(8080), "0", { value: 0 }],
    ["port: the top of the range", env.port(8080), "65535", { value: 65535 }],
    ["port: above the range", env.port(8080), "65536", { problem: `X: ${port}, got "65536"` }],
    ["port: negative", env.port(8080), "-1", { problem: `X: ${port}, got "-1"` }],
    ["port: a fraction", env.port(8080), "80.5", { problem: `X: ${port}, got "80.5"` }],
    ["port: a word", env.port(8080), "http", { problem: `X: ${port}, got "http"` }],

    ["int: unset takes the fallback", env.int(5, 1, 10), undefined, { value: 5 }],
    ["int: empty is unset", env.int(5, 1, 10), "", { value: 5 }],
    ["int: the bottom of the range", env.int(5, 1, 10), "1", { value: 1 }],
    ["int: the top of the range", env.int(5, 1, 10), "10", { value: 10 }],
    ["int: below the range", env.int(5, 1, 10), "0", { problem: 'X: expected an integer from 1 to 10, got "0"' }],
    ["int: above the range", env.int(5, 1, 10), "11", { problem: 'X: expected an integer from 1 to 10, got "11"' }],
    ["int: a fraction", env.int(5, 1, 10), "2.5", { problem: 'X: expected an integer from 1 to 10, got "2.5"' }],
    ["int: a word", env.int(5, 1, 10), "five", { problem: 'X: expected an integer from 1 to 10, got "five"' }],

    ["ratio: unset takes the fallback", env.ratio(0.25), undefined, { value: 0.25 }],
    ["ratio: 0", env.ratio(0.25), "0", { value: 0 }],
    ["ratio: 1", env.ratio(0.25), "1", { value: 1 }],
    ["ratio: a fraction", env.ratio(0.25), "0.05", { value: 0.05 }],
    ["ratio: above 1", env.ratio(0.25), "1.01", { problem: 'X: expected a number from 0 to 1, got "1.01"' }],
    ["ratio: negative", env.ratio(0.25), "-0.1", { problem: 'X: expected a number from 0 to 1, got "-0.1"' }],
    ["ratio: a word", env.ratio(0.25), "half", { problem: 'X: expected a number from 0 to 1, got "half"' }],

    ["url: postgres://", env.url(["postgres", "postgresql"]), "postgres://u:p@db:5432/mesh", { value: "postgres://u:p@db:5432/mesh" }],
    ["url: postgresql://", env.url(["postgres", "postgresql"]), "postgresql://db/mesh", { value: "postgresql://db/mesh" }],
    ["url: unset is required", env.url(["postgres", "postgresql"]), undefined, { problem: `X: is required: ${postgres}` }],
    ["url: empty is unset, so required", env.url(["postgres", "postgresql"]), "", { problem: `X: is required: ${postgres}` }],
    ["url: another scheme", env.url(["postgres", "postgresql"]), "mysql://db/mesh", { problem: `X: ${postgres}, got "mysql://db/mesh"` }],
    ["url: not a URL", env.url(["postgres", "postgresql"]), "db:5432", { problem: `X: ${postgres}, got "db:5432"` }],
    ["url: optional and unset", env.url(["http", "https"]).optional(), undefined, { value: undefined }],
    ["url: optional but wrong", env.url(["http", "https"]).optional(), "grpc://c:4317", {
      problem: 'X: expected a URL starting with http:// or https://, got "grpc://c:4317"',
    }],

    ["name: letters, digits and . _ -", env.name(), "backend-1.a_B", { value: "backend-1.a_B" }],
    ["name: 100 characters", env.name(), "n".repeat(100), { value: "n".repeat(100) }],
    ["name: 101 characters", env.name(), "n".repeat(101), { problem: `X: ${nameForm}, got "${"n".repeat(101)}"` }],
    ["name: a space", env.name(), "backend 1", { problem: `X: ${nameForm}, got "backend 1"` }],
    ["name: unset takes the fallback", env.name("gateway"), undefined, { value: "gateway" }],
    ["name: empty is unset", env.name("gateway"), "", { value: "gateway" }],

    ["oneOf: a listed value", env.oneOf(["debug", "info"], "info"), "debug", { value: "debug" }],
    ["oneOf: unset takes the fallback", env.oneOf(["debug", "info"], "info"), undefined, { value: "info" }],
    ["oneOf: another value", env.oneOf(["debug", "info"], "info"), "loud", { problem: 'X: expected one of debug, info, got "loud"' }],

    ["bool: true", env.bool(false), "true", { value: true }],
    ["bool: 1", env.bool(false), "1", { value: true }],
    ["bool: false", env.bool(true), "false", { value: false }],
    ["bool: 0", env.bool(true), "0", { value: false }],
    ["bool: unset takes the fallback", env.bool(true), undefined, { value: true }],
    ["bool: empty is unset", env.bool(true), "", { value: true }],
    ["bool: yes", env.bool(false), "yes", { problem: 'X: expected true or false, got "yes"' }],
  ])("%s", (_label, parser, input, expected) => {
    expect(loadOne(parser, input)).toEqual(expected);
  });

  // A blank value means "use the default", like an empty one (Number("  ") would be 0).
  it.each([
    ["PORT", env.port(8080), 8080],
    ["ERROR_RATE", env.ratio(0.25), 0.25],
  ] as const)("reads a blank %s as unset, not as 0", (_name, parser, fallback) => {
    expect(loadOne(parser, "  ")).toEqual({ value: fallback });
  });
});

describe("loadConfig", () => {
  const schema = z.object({
    PORT: env.port(8080),
    DATABASE_URL: env.url(["postgres", "postgresql"]),
    RATE: env.ratio(0),
    LOG_LEVEL: env.oneOf(["info", "debug"], "info"),
  });

  it("lists every problem, in the schema's order, each naming its variable", () => {
    let error: unknown;
    try {
      loadConfig(schema, { PORT: "http", RATE: "2", LOG_LEVEL: "loud" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = [
      `PORT: ${port}, got "http"`,
      `DATABASE_URL: is required: ${postgres}`,
      'RATE: expected a number from 0 to 1, got "2"',
      'LOG_LEVEL: expected one of info, debug, got "loud"',
    ];
    expect((error as ConfigError).problems).toEqual(problems);
    expect((error as ConfigError).message).toBe(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    expect((error as ConfigError).name).toBe("ConfigError");
  });

  it("reads only the variables of the schema", () => {
    const config = loadConfig(schema, { DATABASE_URL: "postgres://db/mesh", HOME: "/root", PATH: "/bin" });
    expect(config).toEqual({ PORT: 8080, DATABASE_URL: "postgres://db/mesh", RATE: 0, LOG_LEVEL: "info" });
  });

  it("treats every empty variable as unset", () => {
    expect(loadConfig(schema, { PORT: "", DATABASE_URL: "postgres://db/mesh", RATE: "", LOG_LEVEL: "" })).toEqual({
      PORT: 8080,
      DATABASE_URL: "postgres://db/mesh",
      RATE: 0,
      LOG_LEVEL: "info",
    });
  });

  it("gives every process the same defaults", () => {
    const config = loadConfig(z.object(processConfigShape), {});
    expect(config.INSTANCE_ID).toBeUndefined();
    expect(config.OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
    expect(config).toMatchObject({
      HOST: "127.0.0.1",
      PORT: 0,
      LOG_LEVEL: "info",
      SHUTDOWN_GRACE_MS: 10_000,
      OTEL_TRACES_SAMPLER_ARG: 1,
      MESH_VERSION: "0.1.0",
    });
  });

  it("checks the shared process settings", () => {
    expect(() =>
      loadConfig(z.object(processConfigShape), {
        INSTANCE_ID: "a b",
        SHUTDOWN_GRACE_MS: "300001",
        OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318",
        OTEL_TRACES_SAMPLER_ARG: "2",
      }),
    ).toThrow(
      expect.objectContaining({
        problems: [
          `INSTANCE_ID: ${nameForm}, got "a b"`,
          'SHUTDOWN_GRACE_MS: expected an integer from 0 to 300000, got "300001"',
          'OTEL_EXPORTER_OTLP_ENDPOINT: expected a URL starting with http:// or https://, got "collector:4318"',
          'OTEL_TRACES_SAMPLER_ARG: expected a number from 0 to 1, got "2"',
        ],
      }),
    );
  });
});
