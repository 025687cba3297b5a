import { styleText } from "node:util";
import Table from "cli-table3";

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
      stream.write(`${JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`);
    },
    line(text) {
      stream.write(`${text}\n`);
    },
    paint(style, text) {
      return color ? styleText(style, text) : text;
    },
  };
}
