import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../lib/config/load-config.ts";
import { readGatewayConfig } from "./config.ts";

const base = { UPSTREAMS: "http://127.0.0.1:4001" };

describe("readGatewayConfig: REST transcoding settings", () => {
  it("has defaults", () => {
    const config = readGatewayConfig(base);
    expect({
      sets: config.DESCRIPTOR_SETS,
      setUpstreams: config.DESCRIPTOR_SET_UPSTREAMS,
      protocol: config.TRANSCODE_UPSTREAM_PROTOCOL,
      query: config.TRANSCODE_UNKNOWN_QUERY_PARAMS,
      json: config.TRANSCODE_UNKNOWN_JSON_FIELDS,
      body: config.TRANSCODE_MAX_BODY_BYTES,
      timeout: config.TRANSCODE_DEFAULT_TIMEOUT_MS,
      cap: config.TRANSCODE_MAX_TIMEOUT_MS,
      defaults: config.TRANSCODE_EMIT_DEFAULTS,
    }).toEqual({
      sets: undefined,
      setUpstreams: undefined,
      protocol: "grpc",
      query: "reject",
      json: "reject",
      body: 4 * 1024 * 1024,
      timeout: 30_000,
      cap: 300_000,
      defaults: false,
    });
  });

  it("reads every setting", () => {
    const config = readGatewayConfig({
      ...base,
      DESCRIPTOR_SETS: " a.binpb, /x/b.binpb ,",
      DESCRIPTOR_SET_UPSTREAMS: "http://127.0.0.1:5001,http://127.0.0.1:5002",
      TRANSCODE_UPSTREAM_PROTOCOL: "connect",
      TRANSCODE_UNKNOWN_QUERY_PARAMS: "ignore",
      TRANSCODE_UNKNOWN_JSON_FIELDS: "ignore",
      TRANSCODE_MAX_BODY_BYTES: "1024",
      TRANSCODE_DEFAULT_TIMEOUT_MS: "0",
      TRANSCODE_MAX_TIMEOUT_MS: "5000",
      TRANSCODE_EMIT_DEFAULTS: "true",
    });
    expect(config.DESCRIPTOR_SETS).toEqual(["a.binpb", "/x/b.binpb"]);
    expect(config.DESCRIPTOR_SET_UPSTREAMS).toEqual(["http://127.0.0.1:5001", "http://127.0.0.1:5002"]);
    expect(config.TRANSCODE_UPSTREAM_PROTOCOL).toBe("connect");
    expect(config.TRANSCODE_UNKNOWN_QUERY_PARAMS).toBe("ignore");
    expect(config.TRANSCODE_UNKNOWN_JSON_FIELDS).toBe("ignore");
    expect(config.TRANSCODE_MAX_BODY_BYTES).toBe(1024);
    expect(config.TRANSCODE_DEFAULT_TIMEOUT_MS).toBe(0);
    expect(config.TRANSCODE_MAX_TIMEOUT_MS).toBe(5000);
    expect(config.TRANSCODE_EMIT_DEFAULTS).toBe(true);
  });

  it("names every bad setting", () => {
    try {
      readGatewayConfig({
        ...base,
        TRANSCODE_UPSTREAM_PROTOCOL: "http",
        TRANSCODE_UNKNOWN_QUERY_PARAMS: "drop",
        TRANSCODE_MAX_BODY_BYTES: "0",
        TRANSCODE_MAX_TIMEOUT_MS: "-1",
        DESCRIPTOR_SET_UPSTREAMS: "nope",
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems.map((p) => p.split(":")[0])).toEqual([
        "DESCRIPTOR_SET_UPSTREAMS",
        "TRANSCODE_UPSTREAM_PROTOCOL",
        "TRANSCODE_UNKNOWN_QUERY_PARAMS",
        "TRANSCODE_MAX_BODY_BYTES",
        "TRANSCODE_MAX_TIMEOUT_MS",
      ]);
    }
  });
});
