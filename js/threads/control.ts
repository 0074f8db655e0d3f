// The shared control block through which threads take a phase's tasks: its slots, and the loop every taking thread runs.

// A phase is published by writing its operands, FINISHED = 0 and then UNCLAIMED = its task count.
// Every thread taking part (the workers woken, and in a synchronous call the calling thread) claims
// tasks by compare-and-swap on UNCLAIMED, never taking it below 0, and reads the operands only after
// a claim succeeded: the phase cannot end while a claimed task is unfinished, so what it reads is that
// phase's, even for a worker that woke late, after the phase it was woken for had ended.

/**
 * What the threads read of a phase, in the control block's order: conv2dRun's operands (the path is
 * in the prepared block), then where the work blocks are (worker i's is workBase + i·workStride).
 * This list is the one source of that layout: the pool writes it with writePhase, workers read it
 * with readPhase.
 */
export const PHASE_FIELDS = ["phase", "prepared", "a", "b", "out", "accumulate", "workBase", "workStride"] as const;
export type PhaseFields = { [K in (typeof PHASE_FIELDS)[number]]: number };

// Int32 slots of the control SharedArrayBuffer.
export const OPERANDS = 0;
/** The phase's task count, written with the operands. */
export const TASKS = OPERANDS + PHASE_FIELDS.length;
/** Tasks not yet claimed; task TASKS − UNCLAIMED is the next, so tasks start in order. */
export const UNCLAIMED = TASKS + 1;
/** Tasks finished (or given up after a failure); the phase is over at TASKS. Notified then. */
export const FINISHED = TASKS + 2;
/** Set when a task fails: UNCLAIMED is emptied into FINISHED and the error's text is in ERROR_TEXT. */
export const ABORT = TASKS + 3;
export const ERROR_LENGTH = TASKS + 4;
/** Microseconds a worker keeps polling for the next phase after this one before it sleeps. */
export const SPIN_MICROSECONDS = TASKS + 5;
/** The same for worker 0, which alone polls after an async phase (see ThreadPool.spinMicroseconds). */
export const LEAD_SPIN_MICROSECONDS = TASKS + 6;

/** The failure's text, one UTF-16 unit per slot (so a synchronous caller can report it at once). */
export const ERROR_TEXT = 32;
export const ERROR_TEXT_SLOTS = 240;
/** Per worker i: WORKER_SLOTS + 2i is its wake counter (it sleeps on it), + 1 is 1 while it may hold a task. */
export const WORKER_SLOTS = ERROR_TEXT + ERROR_TEXT_SLOTS;
export const controlSlots = (workers: number): number => WORKER_SLOTS + 2 * workers;
export const TERMINATE = -1;

/** Writes a phase's fields and task count (the pool does, before it sets UNCLAIMED). */
export function writePhase(control: Int32Array, fields: PhaseFields, tasks: number): void {
  for (let i = 0; i < PHASE_FIELDS.length; i++) control[OPERANDS + i] = fields[PHASE_FIELDS[i]!];
  control[TASKS] = tasks;
}

/** Reads the published phase's fields (a thread does, once it holds a claim). Addresses are unsigned. */
export function readPhase(control: Int32Array): PhaseFields {
  const fields = {} as PhaseFields;
  for (let i = 0; i < PHASE_FIELDS.length; i++) fields[PHASE_FIELDS[i]!] = control[OPERANDS + i]! >>> 0;
  return fields;
}

/** A worker's one message to the pool: it is ready. */
export type WorkerMessage = { type: "ready"; index: number };

/** The message that sets a worker up. */
export interface WorkerSetup {
  type: "setup";
  index: number;
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
}

/**
 * Claims and runs tasks of the published phase until none are left: the loop of every thread that
 * takes part. run(task) does one task; a throw aborts the phase (the others stop claiming),
 * records its text, and is rethrown once counted.
 */
export function drainPhase(control: Int32Array, busySlot: number, run: (task: number) => void): void {
  for (;;) {
    // Busy before the claim: whoever waits for the threads to stop sees a claim in progress.
    Atomics.store(control, busySlot, 1);
    let unclaimed = Atomics.load(control, UNCLAIMED);
    while (unclaimed > 0) {
      const seen = Atomics.compareExchange(control, UNCLAIMED, unclaimed, unclaimed - 1);
      if (seen === unclaimed) break;
      unclaimed = seen;
    }
    if (unclaimed <= 0) break;
    const tasks = control[TASKS]!;
    try {
      run(tasks - unclaimed);
    } catch (error) {
      const text = String((error as Error)?.message ?? error).slice(0, ERROR_TEXT_SLOTS);
      if (Atomics.compareExchange(control, ABORT, 0, 1) === 0) {
        for (let i = 0; i < text.length; i++) control[ERROR_TEXT + i] = text.charCodeAt(i);
        Atomics.store(control, ERROR_LENGTH, text.length);
      }
      finish(control, tasks, 1 + Atomics.exchange(control, UNCLAIMED, 0));
      Atomics.store(control, busySlot, 0);
      throw error;
    }
    finish(control, tasks, 1);
  }
  Atomics.store(control, busySlot, 0);
}

/** Counts tasks as finished; the count that ends the phase wakes whoever sleeps on it. */
function finish(control: Int32Array, tasks: number, count: number): void {
  if (Atomics.add(control, FINISHED, count) + count >= tasks) Atomics.notify(control, FINISHED);
}

/** The text a failing task left. */
export function errorText(control: Int32Array): string {
  const length = Atomics.load(control, ERROR_LENGTH);
  return String.fromCharCode(...control.subarray(ERROR_TEXT, ERROR_TEXT + length));
}
