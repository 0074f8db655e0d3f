// The worker pool: workers on the shared memory, phases of tasks handed out through the control block, faults turned into errors.

import { ConvError, ErrorCode } from "./errors.js";
import { CONTROL_SLOTS, Slot, TERMINATE, type WorkerMessage, type WorkerSetup } from "./control.js";

/** What the pool needs to know of one phase: the operands of conv2dRun and where each worker's work block is. */
export interface PhaseJob {
  direction: number;
  phase: number;
  prepared: number;
  a: number;
  b: number;
  out: number;
  accumulate: boolean;
  workBase: number;
  workStride: number;
  tasks: number;
}

/** A worker as the pool sees it, whatever the platform's Worker is. */
interface PooledWorker {
  index: number;
  post(message: WorkerSetup): void;
  terminate(): void;
  /** Node only: whether the worker may keep the process alive. */
  ref(keep: boolean): void;
  alive: boolean;
}

interface Pending {
  sequence: number;
  /** Workers this phase waits for (message mode settles them one by one). */
  waiting: Set<number>;
  /** Workers that died during the phase (they never count themselves in DONE). */
  died: number;
  failure: string | null;
  /** Resolves when a worker's error message has arrived (atomic mode waits for its text). */
  errorArrived: () => void;
  errorText: Promise<void>;
}

/**
 * Threads for the async API. One phase runs at a time (calls queue); workers claim tasks with an
 * atomic counter, so a slow or busy core simply takes fewer. A worker that throws or dies makes the
 * pending call reject once the other workers have stopped (so nothing still writes into memory the
 * caller frees); a dead worker is replaced before the next call. In Node, idle workers are unref'd:
 * a process whose work is done exits by itself.
 */
export class ThreadPool {
  readonly size: number;
  private readonly control: Int32Array;
  private readonly workers: PooledWorker[] = [];
  private readonly module: WebAssembly.Module;
  private readonly memory: WebAssembly.Memory;
  private sequence = 0;
  private pending: Pending | null = null;
  private queue: Promise<void> = Promise.resolve();
  private terminated = false;
  private readonly starting = new Map<number, { resolve(): void; reject(error: ConvError): void }>();

  private constructor(size: number, module: WebAssembly.Module, memory: WebAssembly.Memory) {
    this.size = size;
    this.module = module;
    this.memory = memory;
    this.control = new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * 4));
  }

  /** Starts `size` workers and waits until each has instantiated the module. */
  static async start(size: number, module: WebAssembly.Module, memory: WebAssembly.Memory): Promise<ThreadPool> {
    const pool = new ThreadPool(size, module, memory);
    try {
      await Promise.all(Array.from({ length: size }, (_, i) => pool.spawn(i)));
    } catch (error) {
      pool.terminate();
      throw error;
    }
    for (const w of pool.workers) w.ref(false);
    return pool;
  }

  /** Runs one phase on the workers; resolves when every task is done. Calls queue behind each other. */
  run(job: PhaseJob): Promise<void> {
    return this.enqueue(() => this.runNow(job));
  }

  /**
   * Runs fn (on this thread) in the queue's order: a call too small to be worth the workers still
   * waits for the calls issued before it, so results never race.
   */
  enqueue<T>(fn: () => T | Promise<T>): Promise<T> {
    const result = this.queue.then(fn);
    this.queue = result.then(() => undefined, () => undefined);
    return result;
  }

  /** Ends every worker; later calls reject. Idempotent. */
  terminate(): void {
    if (this.terminated) return;
    this.terminated = true;
    Atomics.store(this.control, Slot.SEQUENCE, TERMINATE);
    Atomics.notify(this.control, Slot.SEQUENCE);
    for (const w of this.workers) {
      w.alive = false;
      w.terminate();
    }
    const p = this.pending;
    if (p) {
      p.failure ??= "the pool was terminated during the call";
      p.died = this.workers.length;
      Atomics.store(this.control, Slot.ABORT, 1);
      Atomics.store(this.control, Slot.DONE, this.workers.length);
      Atomics.notify(this.control, Slot.DONE);
      p.waiting.clear();
      this.messageSettled?.();
    }
  }

  get isTerminated(): boolean {
    return this.terminated;
  }

  private async runNow(job: PhaseJob): Promise<void> {
    if (this.terminated) throw workerError("the pool was terminated; call init() again for threads");
    // Replace workers that died in an earlier call, so the pool recovers.
    await Promise.all(this.workers.filter((w) => !w.alive).map((w) => this.spawn(w.index)));
    const c = this.control;
    c[Slot.DIRECTION] = job.direction;
    c[Slot.PHASE] = job.phase;
    c[Slot.PREPARED] = job.prepared | 0;
    c[Slot.A] = job.a | 0;
    c[Slot.B] = job.b | 0;
    c[Slot.OUT] = job.out | 0;
    c[Slot.ACCUMULATE] = job.accumulate ? 1 : 0;
    c[Slot.WORK_BASE] = job.workBase | 0;
    c[Slot.WORK_STRIDE] = job.workStride | 0;
    c[Slot.TASKS] = job.tasks;
    Atomics.store(c, Slot.NEXT, 0);
    Atomics.store(c, Slot.ABORT, 0);
    Atomics.store(c, Slot.DONE, 0);
    const sequence = ++this.sequence;
    let errorArrived = () => {};
    const errorText = new Promise<void>((resolve) => (errorArrived = resolve));
    const p: Pending = { sequence, waiting: new Set(this.workers.map((w) => w.index)), died: 0, failure: null, errorArrived, errorText };
    const participants = p.waiting.size;
    this.pending = p;
    for (const w of this.workers) w.ref(true);
    // Publishing the sequence number last makes every slot above visible to the woken workers.
    Atomics.store(c, Slot.SEQUENCE, sequence);
    Atomics.notify(c, Slot.SEQUENCE);
    try {
      if (waitAsync) {
        // Sleep on the DONE count (woken within microseconds; a message from each worker takes tens)
        // until every worker has stopped: done, failed, or dead (a death wakes this loop too).
        for (;;) {
          const done = Atomics.load(c, Slot.DONE);
          if (done + p.died >= participants) break;
          const result = waitAsync(c, Slot.DONE, done);
          if (result.async) await result.value;
        }
        // A failing worker posts its message before it counts itself: the text is on its way.
        if (Atomics.load(c, Slot.ABORT) !== 0 && !p.failure) {
          await Promise.race([p.errorText, new Promise((r) => setTimeout(r, 1000))]);
        }
      } else {
        await new Promise<void>((resolve) => {
          const check = () => {
            if (p.waiting.size === 0) resolve();
          };
          this.messageSettled = check;
          check();
        });
      }
      if (Atomics.load(c, Slot.ABORT) !== 0 || p.failure) throw workerError(p.failure ?? "a worker failed");
    } finally {
      this.pending = null;
      this.messageSettled = null;
      if (!this.terminated) for (const w of this.workers) w.ref(false);
    }
  }

  /** Message mode (no Atomics.waitAsync): called when a worker's last message of the phase arrives. */
  private messageSettled: (() => void) | null = null;

  private onMessage(index: number, message: WorkerMessage): void {
    if (message.type === "ready") {
      this.starting.get(index)?.resolve();
      this.starting.delete(index);
      return;
    }
    const p = this.pending;
    if (!p || message.sequence !== p.sequence) return;
    if (message.type === "error") {
      p.failure ??= `a worker failed: ${message.message}`;
      p.errorArrived();
    }
    p.waiting.delete(index);
    this.messageSettled?.();
  }

  private onExit(index: number, reason: string): void {
    this.starting.get(index)?.reject(workerError(`a worker failed to start (${reason})`));
    this.starting.delete(index);
    const worker = this.workers[index];
    if (!worker || !worker.alive) return;
    worker.alive = false;
    const p = this.pending;
    if (!p || !p.waiting.has(index)) return;
    // Its tasks may be half written: stop the others from claiming more, fail the call.
    Atomics.store(this.control, Slot.ABORT, 1);
    p.failure ??= `a worker died during the call (${reason})`;
    p.died++;
    p.waiting.delete(index);
    Atomics.notify(this.control, Slot.DONE);
    this.messageSettled?.();
  }

  private async spawn(index: number): Promise<void> {
    const worker = await createWorker(index, (m) => this.onMessage(index, m), (reason) => this.onExit(index, reason));
    this.workers[index] = worker;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.starting.delete(index);
        reject(workerError("a worker did not start within 30 s"));
      }, 30_000);
      this.starting.set(index, {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      worker.post({ type: "setup", index, module: this.module, memory: this.memory, control: this.control.buffer as SharedArrayBuffer });
    });
  }
}

/** Atomics.waitAsync where the engine has it (Node, Chromium, Deno); the message path serves elsewhere. */
const waitAsync = (Atomics as unknown as {
  waitAsync?: (array: Int32Array, index: number, value: number) => { async: boolean; value: Promise<string> | string };
}).waitAsync?.bind(Atomics);

function workerError(message: string): ConvError {
  return new ConvError(ErrorCode.WORKER, `wasm-conv2d threads: ${message}`, {
    argument: "threads", expected: "every worker to finish its tasks", received: message,
  });
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
async function createWorker(
  index: number, onMessage: (m: WorkerMessage) => void, onExit: (reason: string) => void,
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
    // Workers inherit the parent's flags; --input-type (a parent run with -e) makes them fail to start.
    const execArgv = ((globalThis as { process?: { execArgv?: string[] } }).process?.execArgv ?? [])
      .filter((flag) => !flag.startsWith("--input-type"));
    const worker = new NodeWorker(url, { execArgv });
    const pooled: PooledWorker = {
      index, alive: true,
      post: (m) => worker.postMessage(m),
      terminate: () => void worker.terminate(),
      ref: (keep) => (keep ? worker.ref() : worker.unref()),
    };
    worker.on("message", (m: unknown) => onMessage(m as WorkerMessage));
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
  worker.addEventListener("message", (event) => onMessage((event as MessageEvent).data as WorkerMessage));
  worker.addEventListener("error", (event) => {
    (event as Event).preventDefault?.();
    onExit(`error: ${(event as ErrorEvent).message ?? "unknown"}`);
  });
  return pooled;
}
