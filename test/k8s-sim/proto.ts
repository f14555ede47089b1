// Decoding of Kubernetes protobuf request bodies (the `k8s\0` envelope) for the few kinds typed
// clients send that way — helm stores releases as Secrets written in protobuf. Responses stay JSON,
// which every client accepts.

import { errors, type Obj } from "./util.ts";

type FieldType =
  | "string"
  | "bytes"
  | "int"
  | "bool"
  | "time"
  | "meta"
  | "map"
  | "bytesmap"
  | "strings"
  | "ownerrefs"
  | "preconditions";

type Schema = Record<number, [string, FieldType]>;

const OBJECT_META: Schema = {
  1: ["name", "string"],
  2: ["generateName", "string"],
  3: ["namespace", "string"],
  5: ["uid", "string"],
  6: ["resourceVersion", "string"],
  7: ["generation", "int"],
  8: ["creationTimestamp", "time"],
  9: ["deletionTimestamp", "time"],
  10: ["deletionGracePeriodSeconds", "int"],
  11: ["labels", "map"],
  12: ["annotations", "map"],
  13: ["ownerReferences", "ownerrefs"],
  14: ["finalizers", "strings"],
};

const OWNER_REF: Schema = {
  1: ["kind", "string"],
  3: ["name", "string"],
  4: ["uid", "string"],
  5: ["apiVersion", "string"],
  6: ["controller", "bool"],
  7: ["blockOwnerDeletion", "bool"],
};

const PRECONDITIONS: Schema = { 1: ["uid", "string"], 2: ["resourceVersion", "string"] };

const KINDS: Record<string, Schema> = {
  DeleteOptions: {
    1: ["gracePeriodSeconds", "int"],
    2: ["preconditions", "preconditions"],
    3: ["orphanDependents", "bool"],
    4: ["propagationPolicy", "string"],
    5: ["dryRun", "strings"],
  },
  Secret: {
    1: ["metadata", "meta"],
    2: ["data", "bytesmap"],
    3: ["type", "string"],
    4: ["stringData", "map"],
    5: ["immutable", "bool"],
  },
  ConfigMap: { 1: ["metadata", "meta"], 2: ["data", "map"], 3: ["binaryData", "bytesmap"], 4: ["immutable", "bool"] },
};

class Reader {
  pos = 0;
  readonly buf: Buffer;
  constructor(buf: Buffer) {
    this.buf = buf;
  }
  done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.buf[this.pos++];
      if (b === undefined) throw errors.badRequest("truncated protobuf varint");
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
    }
  }
  bytes(): Buffer {
    const n = Number(this.varint());
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw errors.badRequest(`unsupported protobuf wire type ${wire}`);
  }
}

function fields(buf: Buffer, fn: (field: number, wire: number, r: Reader) => void): void {
  const r = new Reader(buf);
  while (!r.done()) {
    const tag = Number(r.varint());
    fn(tag >> 3, tag & 7, r);
  }
}

function mapEntry(buf: Buffer): [string, Buffer] {
  let k = "";
  let v: Buffer = Buffer.alloc(0);
  fields(buf, (f, w, r) => {
    if (f === 1 && w === 2) k = r.bytes().toString("utf8");
    else if (f === 2 && w === 2) v = r.bytes();
    else r.skip(w);
  });
  return [k, v];
}

function time(buf: Buffer): string {
  let seconds = 0n;
  fields(buf, (f, w, r) => {
    if (f === 1 && w === 0) seconds = r.varint();
    else r.skip(w);
  });
  return new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function message(buf: Buffer, schema: Schema): Obj {
  const out: Obj = {};
  fields(buf, (f, w, r) => {
    const spec = schema[f];
    if (!spec) return r.skip(w);
    const [name, type] = spec;
    switch (type) {
      case "string":
        out[name] = r.bytes().toString("utf8");
        break;
      case "bytes":
        out[name] = r.bytes().toString("base64");
        break;
      case "int":
        out[name] = Number(r.varint());
        break;
      case "bool":
        out[name] = r.varint() !== 0n;
        break;
      case "time":
        out[name] = time(r.bytes());
        break;
      case "meta":
        out[name] = message(r.bytes(), OBJECT_META);
        break;
      case "map": {
        const [k, v] = mapEntry(r.bytes());
        out[name] = { ...(out[name] ?? {}), [k]: v.toString("utf8") };
        break;
      }
      case "bytesmap": {
        const [k, v] = mapEntry(r.bytes());
        out[name] = { ...(out[name] ?? {}), [k]: v.toString("base64") };
        break;
      }
      case "strings":
        out[name] = [...(out[name] ?? []), r.bytes().toString("utf8")];
        break;
      case "preconditions":
        out[name] = message(r.bytes(), PRECONDITIONS);
        break;
      case "ownerrefs":
        out[name] = [...(out[name] ?? []), message(r.bytes(), OWNER_REF)];
        break;
    }
  });
  return out;
}

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** Decodes a `k8s\0`-enveloped protobuf object of a supported kind into its JSON form. */
export function decodeProtobuf(body: Buffer): Obj {
  if (!body.subarray(0, 4).equals(MAGIC)) throw errors.badRequest("protobuf body without the k8s envelope");
  let apiVersion = "";
  let kind = "";
  let raw: Buffer = Buffer.alloc(0);
  fields(body.subarray(4), (f, w, r) => {
    if (f === 1 && w === 2) {
      fields(r.bytes(), (tf, tw, tr) => {
        if (tf === 1 && tw === 2) apiVersion = tr.bytes().toString("utf8");
        else if (tf === 2 && tw === 2) kind = tr.bytes().toString("utf8");
        else tr.skip(tw);
      });
    } else if (f === 2 && w === 2) raw = r.bytes();
    else r.skip(w);
  });
  const schema = KINDS[kind];
  if (!schema) {
    throw errors.unsupportedMedia(`k8s-sim decodes protobuf only for ${Object.keys(KINDS).join(", ")}; got ${kind}`);
  }
  return { apiVersion, kind, ...message(raw, schema) };
}
