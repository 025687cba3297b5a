/**
 * SQL for a timestamptz `column` as protobuf's JSON writes a Timestamp: UTC, with 0, 3 or 6 fraction digits.
 * For the JSON of an entity that a statement writes beside it (audit rows, outbox events, idempotent responses).
 */
export function jsonTime(column: string): string {
  const at = `(${column} AT TIME ZONE 'UTC')`;
  return `to_char(${at}, 'YYYY-MM-DD"T"HH24:MI:SS') || CASE
         WHEN to_char(${at}, 'US') = '000000' THEN ''
         WHEN to_char(${at}, 'US') LIKE '%000' THEN to_char(${at}, '.MS')
         ELSE to_char(${at}, '.US') END || 'Z'`;
}
