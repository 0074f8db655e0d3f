// Types of tools/sizes.mjs for the tests that import it.

export interface Size {
  bytes: number;
  gzip: number;
}
export interface BundleSizes {
  /** The entry and the chunks it imports statically: what an app loads up front. */
  upFront: Size;
  /** The chunks loaded on demand (the thread pool). */
  onDemand: Size;
}
export interface Sizes {
  wasm: (Size & { file: string })[];
  convolution: BundleSizes;
  whole: BundleSizes;
}
export const CONVOLUTION_API: string;
export const WHOLE_API: string;
export function bundleSizes(contents: string): Promise<BundleSizes>;
export function wasmSizes(): (Size & { file: string })[];
export function measureSizes(): Promise<Sizes>;
export function quotedFigures(sizes: Sizes): Record<string, string>;
export function documents(): string[];
export function quotedInDocuments(): { file: string; key: string; quoted: string }[];
