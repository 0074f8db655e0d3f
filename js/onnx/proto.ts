// ONNX model bytes ⇄ ModelProto messages (protobuf-es), and the schemas and types the importer and exporter build with.

import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { ErrorCode, describe, fail } from "../core/errors.js";
import { ModelProtoSchema, type ModelProto } from "./gen/onnx_pb.js";

export { create };
export * from "./gen/onnx_pb.js";

/** Parses ONNX model bytes; bytes that are not a ModelProto throw a ConvError saying what the parser found. */
export function decodeModel(bytes: Uint8Array): ModelProto {
  if (!(bytes instanceof Uint8Array)) fail(ErrorCode.INVALID_OPTION, "importOnnx", "bytes", "an ONNX ModelProto", describe(bytes));
  try {
    return fromBinary(ModelProtoSchema, bytes);
  } catch (error) {
    return fail(ErrorCode.MODEL_FILE, "importOnnx", "bytes", "an ONNX ModelProto", error instanceof Error ? error.message : String(error));
  }
}

/** Serialises a ModelProto (or the plain object create() accepts) to ONNX model bytes. */
export function encodeModel(model: ModelProto | MessageInitShape<typeof ModelProtoSchema>): Uint8Array {
  return toBinary(ModelProtoSchema, create(ModelProtoSchema, model));
}
