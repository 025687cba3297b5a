import { create, fromBinary, toBinary, type DescField, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";

interface Encoding {
  /** The encoded field's bytes, and its value once something has read it. */
  readonly fieldBytes: Uint8Array;
  value: unknown;
  decoded: boolean;
  /** The whole message's encoding. */
  readonly bytes: Uint8Array;
  readonly layout: Layout;
  /** The other fields' values when the encoding was made: it stands only while they are unchanged. */
  readonly others: readonly unknown[];
}

interface Layout {
  readonly field: DescField & { fieldKind: "message" };
  /** The other fields (a oneof as one), whose values the encoding depends on. */
  readonly others: readonly string[];
  /** Whether the field goes before the others, as toBinary orders fields by number. */
  readonly first: boolean;
  /** The field's accessor: the same functions for every message of the layout, so that they share a hidden class. */
  readonly accessor: PropertyDescriptor;
}

/** Where a message keeps its encoding. */
const encodingKey = Symbol("mesh.binary-encoding");
type Encoded = Record<string, unknown> & { [encodingKey]: Encoding };

const layouts = new WeakMap<DescMessage, Map<string, Layout>>();

function layoutOf(schema: DescMessage, fieldName: string): Layout {
  let byField = layouts.get(schema);
  if (byField === undefined) layouts.set(schema, (byField = new Map()));
  let layout = byField.get(fieldName);
  if (layout !== undefined) return layout;
  const field = schema.fields.find((f) => f.localName === fieldName);
  if (field === undefined || field.fieldKind !== "message") throw new Error(`${schema.typeName} has no message field ${fieldName}`);
  const messageField = field as Layout["field"];
  const accessor: PropertyDescriptor = {
    enumerable: true,
    configurable: true,
    get(this: Encoded) {
        const encoding = this[encodingKey];
        if (!encoding.decoded) {
          encoding.value = fromBinary(messageField.message, encoding.fieldBytes);
          encoding.decoded = true;
        }
        return encoding.value;
    },
    set(this: Encoded, value: unknown) {
        const encoding = this[encodingKey];
        encoding.value = value;
        encoding.decoded = true;
    },
  };
  const others = [
    ...schema.fields.filter((f) => f !== field && f.oneof === undefined).map((f) => f.localName),
    ...schema.oneofs.map((o) => o.localName),
  ];
  layout = { field: messageField, others, first: schema.fields.every((f) => f === field || f.number > field.number), accessor };
  byField.set(fieldName, layout);
  return layout;
}

/**
 * A message of `schema` whose message field `fieldName` is given as its binary encoding, such as an entity read
 * from a cache, together with the message's own binary encoding. The field is decoded only when something reads
 * it (an interceptor, JSON serialization); a binary response is written from the bytes as they are, so a cached
 * entity is not decoded and encoded again only to be sent (see binaryEncodingOf). The other fields come from
 * `init`.
 *
 * The field is an accessor whose functions all such messages share: with functions of each message's own, every
 * message would get a hidden class of its own, which V8 keeps (and with it the message) until a full collection.
 */
export function messageWithEncodedField<Desc extends DescMessage>(
  schema: Desc,
  init: MessageInitShape<Desc>,
  fieldName: string,
  fieldBytes: Uint8Array,
): MessageShape<Desc> {
  const layout = layoutOf(schema, fieldName);
  const message = create(schema, init) as unknown as Encoded;
  const rest = toBinary(schema, message as unknown as MessageShape<Desc>);
  message[encodingKey] = {
    fieldBytes,
    value: undefined,
    decoded: false,
    bytes: concatField(layout, fieldBytes, rest),
    layout,
    others: layout.others.map((name) => message[name]),
  };
  Object.defineProperty(message, fieldName, layout.accessor);
  return message as unknown as MessageShape<Desc>;
}

/**
 * The binary encoding of `message` made by messageWithEncodedField, while it still stands (its encoded field was
 * never read, which could have changed it, and the other fields are the same values); else undefined.
 */
export function binaryEncodingOf(message: object): Uint8Array | undefined {
  const encoding = (message as Partial<Encoded>)[encodingKey];
  if (encoding === undefined || encoding.decoded) return undefined;
  const fields = message as Record<string, unknown>;
  const { others } = encoding.layout;
  for (let i = 0; i < others.length; i++) if (fields[others[i]!] !== encoding.others[i]) return undefined;
  return encoding.bytes;
}

/** The field's tag, length and bytes, before or after the other fields' encoding. */
function concatField(layout: Layout, bytes: Uint8Array, rest: Uint8Array): Uint8Array {
  const head: number[] = [];
  varint(head, (layout.field.number << 3) | 2);
  varint(head, bytes.byteLength);
  const out = new Uint8Array(head.length + bytes.byteLength + rest.byteLength);
  const at = layout.first ? 0 : rest.byteLength;
  out.set(head, at);
  out.set(bytes, at + head.length);
  out.set(rest, layout.first ? head.length + bytes.byteLength : 0);
  return out;
}

function varint(out: number[], value: number): void {
  while (value > 0x7f) {
    out.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  out.push(value);
}
