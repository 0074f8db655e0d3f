// Types for examples/browser/build.mjs, so the page test can build the page.

export function buildExamplePage(): Promise<string>;
