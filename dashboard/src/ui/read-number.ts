/** The range a number typed into a form must fall in, and how to read an empty field. */
export interface NumberRange {
  min: number;
  max: number;
  /** Refuse fractions. */
  integer?: boolean;
  /** Said after the maximum in a message ("s", "%"). */
  unit?: string;
  /** What an empty field means; without it an empty field is refused. */
  blank?: number;
  /** The minimum itself is refused ("more than 0"). */
  aboveMin?: boolean;
}

/** Typed text as a number in `range`, with a message for people naming `label` when it is not one. */
export function readNumber(text: string, label: string, range: NumberRange): { value: number; error?: string } {
  const trimmed = text.trim();
  if (trimmed === "" && range.blank !== undefined) return { value: range.blank };
  const value = Number(trimmed);
  const unit = range.unit ? ` ${range.unit}` : "";
  const max = range.max.toLocaleString("en-US");
  if (trimmed === "" || !Number.isFinite(value)) return { value, error: `${label} must be a number` };
  if (range.integer && !Number.isInteger(value)) return { value, error: `${label} must be a whole number` };
  if (range.aboveMin ? value <= range.min : value < range.min) return { value, error: outOfRange(label, range, max, unit) };
  if (value > range.max) return { value, error: outOfRange(label, range, max, unit) };
  return { value };
}

function outOfRange(label: string, range: NumberRange, max: string, unit: string): string {
  return range.aboveMin ? `${label} must be more than ${range.min} and at most ${max}${unit}` : `${label} must be between ${range.min} and ${max}${unit}`;
}

/**
 * Reads a form's text fields as numbers with `readNumber`, putting each field's message into `errors` and
 * returning the value either way, so that one pass collects every bad field.
 */
export function createNumberReader<Field extends string>(form: Readonly<Record<Field, string>>, errors: Partial<Record<Field, string>>) {
  return function read(field: Field, label: string, range: NumberRange): number {
    const { value, error } = readNumber(form[field], label, range);
    if (error !== undefined) errors[field] = error;
    return value;
  };
}
