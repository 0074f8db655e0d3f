// Name and version of the JavaScript engine running this code (Node, Deno, Bun, Chromium or workerd), without node: imports.

export function runtimeName(): string {
  const g = globalThis as Record<string, any>;
  if (g.Bun) return `Bun ${g.Bun.version}`;
  if (g.Deno) return `Deno ${g.Deno.version.deno} (V8 ${g.Deno.version.v8})`;
  // workerd reports no version to the worker; the test or collector outside adds the package's.
  if (typeof g.navigator?.userAgent === "string" && g.navigator.userAgent.startsWith("Cloudflare-Workers")) return "workerd";
  if (g.process?.versions?.node && !g.window) return `Node ${g.process.versions.node} (V8 ${g.process.versions.v8})`;
  const chrome = /(?:HeadlessChrome|Chrome|Chromium)\/([\d.]+)/.exec(g.navigator?.userAgent ?? "");
  return chrome ? `Chromium ${chrome[1]}` : String(g.navigator?.userAgent ?? "unknown");
}
