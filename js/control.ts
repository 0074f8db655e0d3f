// The shared control block through which the pool hands a phase of tasks to its workers: slot numbers.

/** Int32 slots of the control SharedArrayBuffer. */
export const Slot = {
  /** Bumped by the main thread for every phase; workers sleep on it (Atomics.wait). TERMINATE ends them. */
  SEQUENCE: 0,
  DIRECTION: 1,
  PHASE: 2,
  PREPARED: 3,
  A: 4,
  B: 5,
  OUT: 6,
  ACCUMULATE: 7,
  WORK_BASE: 8,
  WORK_STRIDE: 9,
  TASKS: 10,
  /** The next unclaimed task: workers take tasks with Atomics.add, so faster workers take more. */
  NEXT: 11,
  /** Set when a worker fails: the others stop claiming tasks. */
  ABORT: 12,
  /** Workers that have finished the current phase (each adds 1 and notifies: the main thread can sleep on it). */
  DONE: 13,
} as const;

export const CONTROL_SLOTS = 16;
export const TERMINATE = -1;

/** Messages from a worker to the pool. */
export type WorkerMessage =
  | { type: "ready"; index: number }
  | { type: "done"; sequence: number; completed: number }
  | { type: "error"; sequence: number; message: string };

/** The message that sets a worker up. */
export interface WorkerSetup {
  type: "setup";
  index: number;
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
}
