// Types for examples/serve.mjs, so TypeScript tests can import the server.

export function serve(options?: {
  port?: number;
  root?: string;
  extraHeaders?: Record<string, string>;
}): Promise<{ url: string; close: () => Promise<void> }>;
