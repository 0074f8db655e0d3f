// Types for examples/mnist/load-node.mjs.

export function loadDigitsNode(): number[][];
