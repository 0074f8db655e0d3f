// npm run gen:onnx: generates js/onnx/gen/onnx_pb.ts from js/onnx/onnx.proto with buf and protoc-gen-es (the output is committed).

// protoc-gen-es v2 writes plain descriptors and schemas that @bufbuild/protobuf reads at run time without
// eval or new Function (workerd forbids code generation, so protobufjs's generated code could not run there).
// target=ts and import_extension=js make the output compile under tsconfig.build.json (NodeNext).

import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const template = {
  version: "v2",
  plugins: [{
    local: join(ROOT, "node_modules/.bin/protoc-gen-es"),
    out: "js/onnx/gen",
    opt: ["target=ts", "import_extension=js"],
  }],
};
execFileSync(join(ROOT, "node_modules/.bin/buf"), ["generate", "js/onnx/onnx.proto", "--template", JSON.stringify(template)],
  { cwd: ROOT, stdio: ["ignore", 2, 2] });
// protoc-gen-es copies the schema's leading comments (its licence header among them); the first line says what the file is.
const out = join(ROOT, "js/onnx/gen/onnx_pb.ts");
const generated = readFileSync(out, "utf8").replace(/^\/\/ The ONNX model format's protobuf schema:[^\n]*\n/, "");
writeFileSync(out, "// The ONNX protobuf messages as @bufbuild/protobuf schemas and types, generated from ../onnx.proto by tools/gen-onnx-proto.mjs (do not edit).\n" + generated);
console.error("wrote js/onnx/gen/onnx_pb.ts");
