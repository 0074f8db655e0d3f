// The portable suite's error check: each call must throw a ConvError with its code and leave bytes in use as they were.

import type * as Api from "../../dist/index.js";

/** [what the case is, the ErrorCode value expected, the call]. */
export type ErrorCase = [string, string, () => unknown];

/** The first case that did not throw its ConvError or leaked, or null. Arguments made inside a call are freed by its scope. */
export function errorCaseProblem(api: typeof Api, runtime: Api.Runtime, cases: readonly ErrorCase[]): string | null {
  for (const [name, code, call] of cases) {
    const before = runtime.memoryUsage().bytesInUse;
    let thrown: unknown;
    try {
      api.scope(() => { call(); });
    } catch (error) {
      thrown = error;
    }
    if (!(thrown instanceof api.ConvError)) return `${name}: expected a ConvError ${code}, got ${thrown === undefined ? "no error" : String(thrown)}`;
    if (thrown.code !== code || thrown.name !== "ConvError") return `${name}: expected ${code}, got ${thrown.name} ${thrown.code}: ${thrown.message}`;
    const after = runtime.memoryUsage().bytesInUse;
    if (after !== before) return `${name}: ${after - before} bytes leaked`;
  }
  return null;
}
