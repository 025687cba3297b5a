/** What went wrong, so that callers can react to a few cases (e.g. fall back to PGlite). */
export type InfraErrorCode =
  | "BINARY_NOT_FOUND"
  | "PORT_IN_USE"
  | "PERMISSION_DENIED"
  | "DATA_DIR_INCOMPATIBLE"
  | "START_FAILED";

/**
 * The one error type of lib/infra. `message` is one line saying what is wrong, `hint` one line
 * saying how to fix it; callers print `error.describe()` and exit.
 */
export class InfraError extends Error {
  readonly code: InfraErrorCode;
  readonly hint: string;

  constructor(code: InfraErrorCode, message: string, hint: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "InfraError";
    this.code = code;
    this.hint = hint;
  }

  /** Two lines for a terminal: the problem, then the fix. */
  describe(): string {
    return `${this.message}\n  fix: ${this.hint}`;
  }
}
