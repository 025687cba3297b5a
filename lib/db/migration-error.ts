/** A migration could not be loaded, verified or applied; nothing of the failing file was kept. */
export class MigrationError extends Error {
  /** The migration file concerned, when there is one. */
  readonly file: string | undefined;

  constructor(message: string, file?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MigrationError";
    this.file = file;
  }
}
