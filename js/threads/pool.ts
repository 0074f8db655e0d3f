// The worker pool: workers on the shared memory, phases of tasks handed out through the control block, faults turned into errors.

import { ConvError, ErrorCode } from "../core/errors.js";
import {
  ABORT, FINISHED, LEAD_SPIN_MICROSECONDS, SPIN_MICROSECONDS, TERMINATE, UNCLAIMED, WORKER_SLOTS, controlSlots, drainPhase, errorText,
  writePhase, type PhaseFields,
} from "./control.js";
import { createWorker, type PooledWorker } from "./spawn.js";

/** One phase as the pool runs it: conv2dRun's operands and the work blocks (PhaseFields), its task count, and its direction (for the record). */
export interface PhaseJob extends PhaseFields {
  direction: number;
  tasks: number;
}

interface Pending {
  /** Set when a worker died during the phase (it will never finish the task it may hold). */
  died: boolean;
  failure: string | null;
}

/**
 * Threads. An async call's phases run on the workers alone, one phase at a time (calls queue), and
 * the calling thread stays free. A synchronous call blocks its thread anyway, so that thread takes part
 * beside size − 1 workers: it starts on the tasks at once instead of waiting for a sleeping worker to
 * wake (tens of microseconds on a VM), and spins for the last one instead of being woken. Threads
 * claim tasks from a shared counter, so a slow or late one simply takes fewer. A worker that throws
 * or dies makes the call fail once the others have stopped (so nothing still writes into memory the
 * caller frees); a dead worker is replaced before the next async call. In Node, idle workers are
 * unref'd: a process whose work is done exits by itself.
 */
export class ThreadPool {
  readonly size: number;
  private readonly control: Int32Array;
  private readonly workers: PooledWorker[] = [];
  private readonly module: WebAssembly.Module;
  private readonly memory: WebAssembly.Memory;
  private sequence = 0;
  /**
   * How long a worker polls for the next phase after a synchronous one before it sleeps. Synchronous
   * calls come back to back (a training step's layers), and the calling thread leaves a core free
   * while it prepares the next, so the poll costs nothing and saves the wake-up. After an async phase
   * only worker 0 polls: with every worker polling, the workers and the calling thread (preparing the
   * next call) wanted one core more than there are (L5's async forward fell from 0.84× to 0.51×);
   * one poller leaves the calling thread its core and still starts the next phase without a wake-up.
   */
  spinMicroseconds = 1000;
  private pending: Pending | null = null;
  private queue: Promise<void> = Promise.resolve();
  private terminated = false;
  private readonly starting = new Map<number, { resolve(): void; reject(error: ConvError): void }>();

  private constructor(size: number, module: WebAssembly.Module, memory: WebAssembly.Memory) {
    this.size = size;
    this.module = module;
    this.memory = memory;
    // One more pair of worker slots than workers: the calling thread's busy flag in a synchronous call.
    this.control = new Int32Array(new SharedArrayBuffer(controlSlots(size + 1) * 4));
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

  /**
   * Runs one phase on the workers; resolves when every task is done. Calls queue behind each other.
   * `where` names the API function in an ERR_WORKER.
   */
  run(job: PhaseJob, where: string): Promise<void> {
    return this.enqueue(() => this.runNow(job, where));
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

  /** Whether a synchronous call can take the workers now: the pool is up and no async phase is in flight. */
  get canRunHere(): boolean {
    return !this.terminated && !this.pending;
  }

  /**
   * Runs one phase synchronously: the calling thread claims tasks beside size − 1 workers (run does one
   * task with the calling thread's work block), then waits for the tasks the workers hold.
   */
  runHere(job: PhaseJob, run: (task: number) => void, where: string): void {
    const c = this.control;
    Atomics.store(c, SPIN_MICROSECONDS, this.spinMicroseconds);
    Atomics.store(c, LEAD_SPIN_MICROSECONDS, this.spinMicroseconds);
    this.publish(job, this.workers.filter((w) => w.alive && w.index < this.size - 1));
    try {
      drainPhase(c, WORKER_SLOTS + 2 * this.size + 1, run);
    } finally {
      // What is left is at most one task per worker, already running: spinning beats a wake-up. A
      // worker cannot die meanwhile (nothing on this thread can end it while it waits), so it ends.
      while (Atomics.load(c, FINISHED) < job.tasks) { /* spin */ }
    }
    if (Atomics.load(c, ABORT) !== 0) throw workerError(where, `a worker failed: ${errorText(c)}`);
  }

  /** Ends every worker; later calls reject. Idempotent. */
  terminate(): void {
    if (this.terminated) return;
    this.terminated = true;
    for (const w of this.workers) {
      Atomics.store(this.control, WORKER_SLOTS + 2 * w.index, TERMINATE);
      Atomics.notify(this.control, WORKER_SLOTS + 2 * w.index);
      w.alive = false;
      w.terminate();
    }
    const p = this.pending;
    if (p) {
      p.failure ??= "the pool was terminated during the call";
      this.abandon(p);
    }
  }

  get isTerminated(): boolean {
    return this.terminated;
  }

  /** Writes a phase into the control block and wakes the given workers (operands first, the task count last). */
  private publish(job: PhaseJob, workers: PooledWorker[]): void {
    const c = this.control;
    writePhase(c, job, job.tasks);
    Atomics.store(c, ABORT, 0);
    Atomics.store(c, FINISHED, 0);
    Atomics.store(c, UNCLAIMED, job.tasks);
    const sequence = ++this.sequence;
    for (const w of workers) {
      Atomics.store(c, WORKER_SLOTS + 2 * w.index, sequence);
      Atomics.notify(c, WORKER_SLOTS + 2 * w.index);
    }
  }

  /** A phase that cannot end normally (a death, terminate()): no more claims, and its waiter is woken. */
  private abandon(p: Pending): void {
    p.died = true;
    Atomics.store(this.control, ABORT, 1);
    Atomics.store(this.control, UNCLAIMED, 0);
    Atomics.notify(this.control, FINISHED);
  }

  private async runNow(job: PhaseJob, where: string): Promise<void> {
    if (this.terminated) throw workerError(where, "the pool was terminated; call init() again for threads");
    // Replace workers that died in an earlier call, so the pool recovers.
    await Promise.all(this.workers.filter((w) => !w.alive).map((w) => this.spawn(w.index)));
    const c = this.control;
    for (const w of this.workers) w.ref(true);
    Atomics.store(c, SPIN_MICROSECONDS, 0);
    Atomics.store(c, LEAD_SPIN_MICROSECONDS, this.spinMicroseconds);
    this.publish(job, this.workers);
    const p: Pending = { died: false, failure: null };
    this.pending = p;
    try {
      // Sleep on the FINISHED count (woken within microseconds; a message from a worker takes tens).
      for (;;) {
        const finished = Atomics.load(c, FINISHED);
        if (finished >= job.tasks || p.died) break;
        const result = waitAsync(c, FINISHED, finished);
        if (result.async) await result.value;
      }
      // After a death the others may still be inside a task: wait until none is (they claim no more).
      while (p.died && this.workers.some((w) => w.alive && Atomics.load(c, WORKER_SLOTS + 2 * w.index + 1) !== 0)) {
        await new Promise((r) => setTimeout(r, 1));
      }
      if (p.failure) throw workerError(where, p.failure);
      if (Atomics.load(c, ABORT) !== 0) throw workerError(where, `a worker failed: ${errorText(c)}`);
    } finally {
      this.pending = null;
      if (!this.terminated) for (const w of this.workers) w.ref(false);
    }
  }

  /** A worker's only message: it has instantiated the module. */
  private onMessage(index: number): void {
    this.starting.get(index)?.resolve();
    this.starting.delete(index);
  }

  private onExit(index: number, reason: string): void {
    this.starting.get(index)?.reject(workerError("init", `a worker failed to start (${reason})`));
    this.starting.delete(index);
    const worker = this.workers[index];
    if (!worker || !worker.alive) return;
    worker.alive = false;
    const p = this.pending;
    if (!p) return;
    // Its task may be half written: stop the others from claiming more, fail the call.
    p.failure ??= `a worker died during the call (${reason})`;
    this.abandon(p);
  }

  private async spawn(index: number): Promise<void> {
    const worker = await createWorker(index, () => this.onMessage(index), (reason) => this.onExit(index, reason));
    this.workers[index] = worker;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.starting.delete(index);
        reject(workerError("init", "a worker did not start within 30 s"));
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

/** Atomics.waitAsync (Node, Chromium, Safari, Deno, Bun; init() keeps one thread where it is missing). */
const waitAsync = (array: Int32Array, index: number, value: number) => (Atomics as unknown as {
  waitAsync: (array: Int32Array, index: number, value: number) => { async: boolean; value: Promise<string> | string };
}).waitAsync(array, index, value);

function workerError(where: string, message: string): ConvError {
  return new ConvError(ErrorCode.WORKER, `${where}: threads: ${message}`, {
    argument: "threads", expected: "every worker to finish its tasks", received: message,
  });
}
