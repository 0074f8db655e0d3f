// Types for examples/bundle.mjs, so TypeScript tests can bundle portable modules.

export function bundle(options: { entry: string; outfile: string; packageUrl?: string; minify?: boolean; external?: string[] }): Promise<string>;
