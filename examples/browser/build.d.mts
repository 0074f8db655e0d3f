// Types for examples/browser/build.mjs, so the page tests can build the pages' scripts.

export function buildExamplePage(): Promise<string>;
export function buildTrainWorker(): Promise<string>;
