import { describe, expect, it } from "vitest";
import { DependencyFaultError } from "../faults/dependency-fault-gate.ts";
import { isConnectionFailure, isRetryableRead, isRetryableWrite } from "./db-errors.ts";

const pgError = (code: string, message = "error") => Object.assign(new Error(message), { code });

describe("which PostgreSQL failures are retried", () => {
  it.each([
    // [label, error, connection failure, read retried, write retried before COMMIT, write retried after COMMIT sent]
    ["connection refused", pgError("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:5432"), true, true, true, false],
    ["connection reset", pgError("ECONNRESET"), true, true, true, false],
    ["pg: connection terminated", new Error("Connection terminated unexpectedly"), true, true, true, false],
    ["pg: pool connect timeout", new Error("timeout exceeded when trying to connect"), true, true, true, false],
    ["admin shutdown 57P01", pgError("57P01"), true, true, true, false],
    ["cannot connect now 57P03", pgError("57P03"), true, true, true, false],
    ["too many connections 53300", pgError("53300"), true, true, true, false],
    ["connection exception 08006", pgError("08006"), true, true, true, false],
    ["an injected database fault", new DependencyFaultError("database", "f1"), true, true, true, false],
    ["serialization failure 40001", pgError("40001"), false, true, true, true],
    ["deadlock 40P01", pgError("40P01"), false, true, true, true],
    ["unique violation 23505", pgError("23505"), false, false, false, false],
    ["check violation 23514", pgError("23514"), false, false, false, false],
    ["statement timeout 57014", pgError("57014"), false, false, false, false],
    ["undefined column 42703", pgError("42703"), false, false, false, false],
    ["a plain error", new Error("boom"), false, false, false, false],
    ["not an error", "boom", false, false, false, false],
  ])("%s", (_label, err, connection, read, writeBefore, writeAfter) => {
    expect(isConnectionFailure(err)).toBe(connection);
    expect(isRetryableRead(err)).toBe(read);
    expect(isRetryableWrite(err, false)).toBe(writeBefore);
    expect(isRetryableWrite(err, true)).toBe(writeAfter);
  });
});
