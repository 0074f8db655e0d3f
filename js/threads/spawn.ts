// Starting one worker of the pool on this platform: Node's worker_threads, or a module Web Worker (browsers, Deno, Bun).

import type { WorkerSetup } from "./control.js";

/** A worker as the pool sees it, whatever the platform's Worker is. */
export interface PooledWorker {
  index: number;
  post(message: WorkerSetup): void;
  terminate(): void;
  /** Node only: whether the worker may keep the process alive. */
  ref(keep: boolean): void;
  alive: boolean;
}

/** The part of node:worker_threads' Worker used here (the package builds without Node's types). */
interface NodeWorkerLike {
  postMessage(message: unknown): void;
  terminate(): Promise<number>;
  ref(): void;
  unref(): void;
  on(event: "message" | "error" | "exit", handler: (value: unknown) => void): void;
}

/** Where the platform's worker lives: Node's worker_threads, or a module Web Worker elsewhere. */
export async function createWorker(
  index: number, onMessage: () => void, onExit: (reason: string) => void,
): Promise<PooledWorker> {
  const url = new URL("./worker.js", import.meta.url);
  const versions = (globalThis as { process?: { versions?: Record<string, string | undefined> } }).process?.versions;
  // Node itself (Deno and Bun also answer to process.versions.node, but their Web Workers are the native kind).
  const isNode = !!versions?.node && !versions.bun && !(globalThis as { Deno?: unknown }).Deno;
  if (isNode) {
    const specifier = "node:worker_threads";
    const { Worker: NodeWorker } = (await import(/* @vite-ignore */ specifier)) as {
      Worker: new (url: URL, options: { execArgv: string[] }) => NodeWorkerLike;
    };
    // Workers get the parent's flags (a loader, say), less two kinds that make them fail to start:
    // --input-type (a parent run with -e), and V8 flags such as --no-liftoff, which Node rejects per
    // worker (they are process-wide, so the worker has them anyway) and names in its error.
    let execArgv = ((globalThis as { process?: { execArgv?: string[] } }).process?.execArgv ?? [])
      .filter((flag) => !flag.startsWith("--input-type"));
    let worker: NodeWorkerLike;
    try {
      worker = new NodeWorker(url, { execArgv });
    } catch (error) {
      const { code, message } = error as { code?: string; message?: string };
      if (code !== "ERR_WORKER_INVALID_EXEC_ARGV") throw error;
      const rejected = new Set((message ?? "").replace(/^[^:]*:\s*/, "").split(/,\s*/));
      execArgv = execArgv.filter((flag) => !rejected.has(flag));
      worker = new NodeWorker(url, { execArgv });
    }
    const pooled: PooledWorker = {
      index, alive: true,
      post: (m) => worker.postMessage(m),
      terminate: () => void worker.terminate(),
      ref: (keep) => (keep ? worker.ref() : worker.unref()),
    };
    worker.on("message", onMessage);
    worker.on("error", (error: unknown) => onExit(`error: ${(error as Error)?.message ?? error}`));
    worker.on("exit", (code: unknown) => onExit(`exit code ${code}`));
    return pooled;
  }
  const worker = new Worker(url, { type: "module" });
  const pooled: PooledWorker = {
    index, alive: true,
    post: (m) => worker.postMessage(m),
    terminate: () => worker.terminate(),
    ref: (keep) => {
      // Bun's workers can be unref'd like Node's; browsers and Deno have no such notion.
      const w = worker as unknown as { ref?(): void; unref?(): void };
      if (keep) w.ref?.();
      else w.unref?.();
    },
  };
  worker.addEventListener("message", onMessage);
  worker.addEventListener("error", (event) => {
    (event as Event).preventDefault?.();
    onExit(`error: ${(event as ErrorEvent).message ?? "unknown"}`);
  });
  return pooled;
}
