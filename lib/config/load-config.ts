import { z } from "zod";

/** Thrown when the environment does not satisfy a service's configuration schema. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.problems = problems;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Parses `env` with a zod object schema whose keys are environment variable names. Every problem names the
 * variable and the expected form, e.g. `PORT: expected an integer from 1 to 65535, got "http"`.
 * Empty or blank strings count as unset, so `PORT= npm start` uses the default rather than failing.
 */
export function loadConfig<S extends z.ZodObject>(schema: S, env: Env): z.infer<S> {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value.trim() !== "") input[key] = value;
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? "?");
    const got = input[key];
    return `${key}: ${issue.message}${got === undefined ? "" : `, got ${JSON.stringify(got)}`}`;
  });
  throw new ConfigError(problems);
}

/** Whole numbers written in decimal: "0x10", "1e3" or "12abc" are rejected rather than coerced. */
function integer(min: number, max: number) {
  const error = `expected an integer from ${min} to ${max}`;
  return z
    .string()
    .trim()
    .regex(/^-?\d{1,15}$/, { error })
    .transform(Number)
    .pipe(z.number().int({ error }).min(min, { error }).max(max, { error }));
}

/** Environment value parsers with messages that say what form is expected. */
export const env = {
  port: (fallback: number) => integer(0, 65535).default(fallback),
  int: (fallback: number, min: number, max: number) => integer(min, max).default(fallback),
  ratio: (fallback: number) => {
    const error = "expected a number from 0 to 1";
    return z
      .string()
      .trim()
      .regex(/^\d+(\.\d+)?$/, { error })
      .transform(Number)
      .pipe(z.number().min(0, { error }).max(1, { error }))
      .default(fallback);
  },
  url: (protocols: readonly string[]) =>
    z
      .string({ error: `is required: expected a URL starting with ${protocols.map((p) => `${p}://`).join(" or ")}` })
      .refine(
        (value) => {
          try {
            return protocols.includes(new URL(value).protocol.replace(/:$/, ""));
          } catch {
            return false;
          }
        },
        { error: `expected a URL starting with ${protocols.map((p) => `${p}://`).join(" or ")}` },
      ),
  name: (fallback?: string) => {
    const schema = z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,100}$/, { error: "expected 1 to 100 characters of A-Z, a-z, 0-9, '.', '_' or '-'" });
    return fallback === undefined ? schema : schema.default(fallback);
  },
  oneOf: <const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) =>
    z.enum(values, { error: `expected one of ${values.join(", ")}` }).default(fallback),
  bool: (fallback: boolean) =>
    z
      .enum(["true", "false", "1", "0"], { error: "expected true or false" })
      .transform((v) => v === "true" || v === "1")
      .default(fallback),
};

/** Settings every mesh process shares: identity, listener, logging, telemetry and shutdown. */
export const processConfigShape = {
  INSTANCE_ID: env.name().optional(),
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: env.port(0),
  /** The base URL other processes reach this one at, when it differs from the listening address. */
  ADVERTISE_URL: env.url(["http", "https"]).optional(),
  LOG_LEVEL: env.oneOf(["fatal", "error", "warn", "info", "debug", "trace", "silent"], "info"),
  SHUTDOWN_GRACE_MS: env.int(10_000, 0, 300_000),
  OTEL_EXPORTER_OTLP_ENDPOINT: env.url(["http", "https"]).optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: env.oneOf(["http/protobuf", "http/json"], "http/protobuf"),
  OTEL_TRACES_SAMPLER_ARG: env.ratio(1),
  /** Delay between two exports of finished spans (the OTel variable of the same name). */
  OTEL_BSP_SCHEDULE_DELAY: env.int(5000, 10, 600_000),
  MESH_VERSION: z.string().min(1).max(100).default("0.1.0"),
  /**
   * Shared secret of the mesh's service credential (lib/auth/service-credential.ts). With it, processes
   * present a token signed with it on calls inside the mesh, and backends refuse calls without one: callers
   * outside the mesh must come through the gateway.
   */
  MESH_SERVICE_SECRET: z.string().min(32, { error: "expected at least 32 characters" }).optional(),
};
