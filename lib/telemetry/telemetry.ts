/** What a process says about itself to OpenTelemetry, and where its spans go. */
export interface TelemetryOptions {
  /** service.name, such as "backend". */
  serviceName: string;
  /** service.instance.id, such as "backend-1". */
  instanceId: string;
  /** service.version. */
  version: string;
  /** OTLP/HTTP base URL, such as http://127.0.0.1:4318. Without it spans are made and propagated, not exported. */
  endpoint?: string | undefined;
  /** Share of new traces sampled; children follow their parent's decision. */
  ratio: number;
  /** OTLP/HTTP encoding. @default "http/protobuf" */
  protocol?: "http/protobuf" | "http/json";
  /** Delay between two exports. @default 5000 */
  exportDelayMs?: number;
}

export interface Telemetry {
  /** Flushes pending spans and stops the SDK. */
  shutdown(): Promise<void>;
}
