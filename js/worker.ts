// The pool's worker: instantiates the threads build on the shared memory, then runs the tasks of each phase it is woken for.

import { CONTROL_SLOTS, Slot, TERMINATE, type WorkerMessage, type WorkerSetup } from "./control.js";

interface RunExports {
  conv2dRun(
    direction: number, phase: number, prepared: number, a: number, b: number, out: number,
    accumulate: number, work: number, t0: number, t1: number,
  ): void;
}

// One file for both worlds: a module Web Worker (browsers, Deno, Bun) has a global postMessage;
// under Node's worker_threads the port comes from node:worker_threads.
type Port = { post(message: WorkerMessage): void; onSetup(handler: (setup: WorkerSetup) => void): void };

async function port(): Promise<Port> {
  const scope = globalThis as unknown as {
    postMessage?: (m: unknown) => void;
    addEventListener?: (type: string, handler: (event: { data: unknown }) => void) => void;
    WorkerGlobalScope?: unknown;
  };
  if (typeof scope.WorkerGlobalScope !== "undefined" && scope.postMessage && scope.addEventListener) {
    return {
      post: (m) => scope.postMessage!(m),
      onSetup: (handler) => scope.addEventListener!("message", (event) => handler(event.data as WorkerSetup)),
    };
  }
  const specifier = "node:worker_threads";
  const { parentPort } = (await import(/* @vite-ignore */ specifier)) as {
    parentPort: { postMessage(m: unknown): void; once(event: "message", handler: (m: unknown) => void): void };
  };
  return {
    post: (m) => parentPort.postMessage(m),
    onSetup: (handler) => parentPort.once("message", (m) => handler(m as WorkerSetup)),
  };
}

const channel = await port();
channel.onSetup((setup) => {
  void serve(setup);
});

async function serve(setup: WorkerSetup): Promise<void> {
  const instance = await WebAssembly.instantiate(setup.module, {
    env: {
      memory: setup.memory,
      abort: () => {
        throw new Error("wasm-conv2d worker: abort() in the kernel");
      },
    },
  });
  const kernels = instance.exports as unknown as RunExports;
  const control = new Int32Array(setup.control, 0, CONTROL_SLOTS);
  // Read the current phase number before saying ready: the pool may publish the next phase as soon
  // as it hears "ready", and a worker that read the number after that would sleep through it.
  let seen = Atomics.load(control, Slot.SEQUENCE);
  channel.post({ type: "ready", index: setup.index });
  for (;;) {
    // Sleeps until the main thread publishes a new phase (Atomics.wait is allowed in workers).
    Atomics.wait(control, Slot.SEQUENCE, seen);
    seen = Atomics.load(control, Slot.SEQUENCE);
    if (seen === TERMINATE) return;
    const tasks = control[Slot.TASKS]!;
    const work = (control[Slot.WORK_BASE]! >>> 0) + setup.index * (control[Slot.WORK_STRIDE]! >>> 0);
    let completed = 0;
    try {
      for (;;) {
        if (Atomics.load(control, Slot.ABORT) !== 0) break;
        const task = Atomics.add(control, Slot.NEXT, 1);
        if (task >= tasks) break;
        kernels.conv2dRun(
          control[Slot.DIRECTION]!, control[Slot.PHASE]!, control[Slot.PREPARED]! >>> 0, control[Slot.A]! >>> 0,
          control[Slot.B]! >>> 0, control[Slot.OUT]! >>> 0, control[Slot.ACCUMULATE]!, work, task, task + 1,
        );
        completed++;
      }
      // Count first: a pool sleeping on DONE may publish the next phase at once, and this message,
      // carrying the old sequence number, is then ignored (a pool without waitAsync counts messages).
      Atomics.add(control, Slot.DONE, 1);
      Atomics.notify(control, Slot.DONE);
      channel.post({ type: "done", sequence: seen, completed });
    } catch (error) {
      // The message first: a pool woken by the count finds the failure's text already sent.
      Atomics.store(control, Slot.ABORT, 1);
      channel.post({ type: "error", sequence: seen, message: String((error as Error)?.message ?? error) });
      Atomics.add(control, Slot.DONE, 1);
      Atomics.notify(control, Slot.DONE);
    }
  }
}
