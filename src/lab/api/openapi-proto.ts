// The OpenAPI v2 document in protobuf (gnostic's openapi.v2.Document), which kubectl up to 1.2x
// asks for and requires (`Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`).
// Only what kubectl reads is encoded: swagger, info and the schema definitions.
import { stringify } from 'yaml';

/** The media type of the reply; clients ask with an '@' in it, which Go's mime parser rejects in a reply. */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

type Schema = Record<string, unknown>;

/** A minimal protobuf writer: varints, length-delimited fields, booleans. */
class Writer {
  private readonly parts: Buffer[] = [];

  private varint(n: number): void {
    const bytes: number[] = [];
    let v = n;
    while (v > 0x7f) {
      bytes.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    bytes.push(v);
    this.parts.push(Buffer.from(bytes));
  }

  bytes(field: number, data: Buffer): this {
    this.varint((field << 3) | 2);
    this.varint(data.length);
    this.parts.push(data);
    return this;
  }

  string(field: number, text: string | undefined): this {
    return text === undefined ? this : this.bytes(field, Buffer.from(text, 'utf8'));
  }

  message(field: number, w: Writer): this {
    return this.bytes(field, w.finish());
  }

  bool(field: number, value: boolean | undefined): this {
    if (value) {
      this.varint(field << 3);
      this.varint(1);
    }
    return this;
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** NamedAny{name, value: Any{yaml}}: how gnostic carries `x-` vendor extensions. */
function namedAny(name: string, value: unknown): Writer {
  return new Writer().string(1, name).message(2, new Writer().string(2, stringify(value)));
}

function schema(s: Schema): Writer {
  const w = new Writer();
  w.string(1, s.$ref as string | undefined);
  w.string(2, s.format as string | undefined);
  w.string(4, s.description as string | undefined);
  w.bool(16, s.uniqueItems as boolean | undefined);
  for (const r of (s.required as string[] | undefined) ?? []) w.string(19, r);
  if (s.additionalProperties !== undefined) {
    const ap = new Writer();
    if (typeof s.additionalProperties === 'boolean') ap.bool(2, s.additionalProperties);
    else ap.message(1, schema(s.additionalProperties as Schema));
    w.message(21, ap);
  }
  if (s.type !== undefined) w.message(22, new Writer().string(1, s.type as string));
  if (s.items !== undefined) w.message(23, new Writer().message(1, schema(s.items as Schema)));
  for (const a of (s.allOf as Schema[] | undefined) ?? []) w.message(24, schema(a));
  if (s.properties !== undefined) {
    const props = new Writer();
    for (const [name, value] of Object.entries(s.properties as Record<string, Schema>)) props.message(1, new Writer().string(1, name).message(2, schema(value)));
    w.message(25, props);
  }
  for (const [key, value] of Object.entries(s)) if (key.startsWith('x-')) w.message(31, namedAny(key, value));
  return w;
}

/** Encodes a swagger 2.0 document (as openAPIv2() builds it) into gnostic's protobuf form. */
export function encodeOpenAPIv2(doc: Schema): Buffer {
  const info = (doc.info ?? {}) as { title?: string; version?: string };
  const definitions = new Writer();
  for (const [name, value] of Object.entries((doc.definitions ?? {}) as Record<string, Schema>)) {
    definitions.message(1, new Writer().string(1, name).message(2, schema(value)));
  }
  return new Writer()
    .string(1, doc.swagger as string)
    .message(2, new Writer().string(1, info.title).string(2, info.version))
    .message(9, definitions)
    .finish();
}
