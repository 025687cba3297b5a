import { styleText } from "node:util";
import { isMessage, toJson, type JsonValue, type Message } from "@bufbuild/protobuf";
import Table from "cli-table3";
import { meshRegistry } from "./mesh-registry.ts";

/** Messages in proto3 JSON (enum names, RFC 3339 times), wherever they sit in `value`. */
export function toJsonValue(value: unknown): JsonValue {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (value !== null && typeof value === "object") {
    if (isMessage(value)) {
      const schema = meshRegistry.getMessage((value as Message).$typeName);
      if (schema) return toJson(schema, value as Message, { registry: meshRegistry, alwaysEmitImplicit: true });
    }
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, toJsonValue(v)]));
  }
  return value as JsonValue;
}

export interface CliOutput {
  /** True with --json: one JSON document on stdout, nothing else. */
  readonly json: boolean;
  /** Colour and tables only on a terminal. */
  readonly color: boolean;
  table(head: readonly string[], rows: ReadonlyArray<readonly string[]>): void;
  data(value: unknown): void;
  line(text: string): void;
  paint(style: "green" | "yellow" | "red" | "dim" | "bold", text: string): string;
}

/**
 * Output for people on a terminal (colour, boxed tables) and plain text when piped (tab-separated rows),
 * or JSON for scripts with --json.
 */
export function createCliOutput(options: { json: boolean; noColor: boolean; stream?: NodeJS.WriteStream }): CliOutput {
  const stream = options.stream ?? process.stdout;
  const terminal = stream.isTTY === true;
  const color = terminal && !options.noColor && !options.json;
  return {
    json: options.json,
    color,
    table(head, rows) {
      if (!terminal) {
        stream.write(`${[head, ...rows].map((r) => r.join("\t")).join("\n")}\n`);
        return;
      }
      const table = new Table({ head: head.map((h) => (color ? styleText("bold", h) : h)), style: { head: [], border: [] } });
      table.push(...rows.map((r) => [...r]));
      stream.write(`${table.toString()}\n`);
    },
    data(value) {
      stream.write(`${JSON.stringify(toJsonValue(value), null, 2)}\n`);
    },
    line(text) {
      stream.write(`${text}\n`);
    },
    paint(style, text) {
      return color ? styleText(style, text) : text;
    },
  };
}
