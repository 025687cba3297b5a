const levelNames: Record<string, string> = {
  trace: "TRACE",
  debug: "DEBUG",
  info: "INFO ",
  warn: "WARN ",
  error: "ERROR",
  fatal: "FATAL",
};

const hidden = new Set(["level", "time", "service", "instance", "msg", "pid", "hostname"]);

function formatValue(value: unknown): string {
  if (typeof value === "string") return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  if (typeof value === "object" && value !== null && "message" in value) return JSON.stringify((value as { message: unknown }).message);
  return JSON.stringify(value);
}

/**
 * One pino JSON line as a short human line: `12:00:01 backend-1 INFO  backend serving url=http://…`.
 * Lines that are not JSON objects are returned as they are, behind the process name.
 */
export function formatLogLine(processName: string, line: string, width = 10): string {
  let name = processName.padEnd(width);
  let record: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return `${name} ${line}`;
    record = parsed as Record<string, unknown>;
  } catch {
    return `${name} ${line}`;
  }
  // Lines a process passes on from its own children (control's backends) name their instance.
  if (typeof record.instance === "string") name = record.instance.padEnd(width);
  const time = typeof record.time === "string" ? record.time.slice(11, 19) : "        ";
  const level = levelNames[String(record.level)] ?? String(record.level ?? "").toUpperCase().padEnd(5);
  const fields = Object.entries(record)
    .filter(([key]) => !hidden.has(key))
    .map(([key, value]) => `${key}=${formatValue(value)}`)
    .join(" ");
  return `${time} ${name} ${level} ${String(record.msg ?? "")}${fields ? ` ${fields}` : ""}`;
}
