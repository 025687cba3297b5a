import { create, type DescMessage, type Message } from "@bufbuild/protobuf";
import { reflect } from "@bufbuild/protobuf/reflect";

/**
 * google.api.HttpBody: a request or response that is not JSON but arbitrary bytes with a content type
 * (file uploads, downloads, HTML). Recognised by name, so descriptors loaded from a set work too.
 */
export function isHttpBody(message: DescMessage): boolean {
  return message.typeName === "google.api.HttpBody";
}

/** An HttpBody message holding the raw request body. */
export function newHttpBody(desc: DescMessage, contentType: string | undefined, data: Uint8Array): Message {
  const message = create(desc);
  const r = reflect(desc, message);
  const typeField = desc.fields.find((f) => f.name === "content_type");
  const dataField = desc.fields.find((f) => f.name === "data");
  if (typeField && contentType !== undefined) r.set(typeField, contentType);
  if (dataField) r.set(dataField, data);
  return message;
}

/** The content type and bytes of an HttpBody message. */
export function readHttpBody(desc: DescMessage, message: Message): { contentType: string; data: Uint8Array } {
  const r = reflect(desc, message);
  const typeField = desc.fields.find((f) => f.name === "content_type");
  const dataField = desc.fields.find((f) => f.name === "data");
  const contentType = typeField ? String(r.get(typeField)) : "";
  const data = dataField ? (r.get(dataField) as Uint8Array) : new Uint8Array();
  return { contentType: contentType || "application/octet-stream", data };
}
