import { InvalidArgumentError } from "commander";
import { parseDuration } from "./parse-duration.ts";

/** Commander option parsers: each turns the text into a value or explains the form it expects. */
export const parse = {
  duration(text: string): number {
    const ms = parseDuration(text);
    if (ms === undefined) throw new InvalidArgumentError("expected a duration such as 250ms, 30s, 5m or 1h");
    return ms;
  },
  ratio(text: string): number {
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError("expected a number from 0 to 1");
    return n;
  },
  integer(text: string): number {
    const n = Number(text);
    if (!Number.isInteger(n)) throw new InvalidArgumentError("expected a whole number");
    return n;
  },
  number(text: string): number {
    const n = Number(text);
    if (!Number.isFinite(n)) throw new InvalidArgumentError("expected a number");
    return n;
  },
  positive(text: string): number {
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a positive number");
    return n;
  },
};
