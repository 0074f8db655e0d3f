// The pool's worker: instantiates the threads build on the shared memory, then runs the tasks of each phase it is woken for.

import { LEAD_SPIN_MICROSECONDS, SPIN_MICROSECONDS, TERMINATE, WORKER_SLOTS, drainPhase, readPhase, type WorkerMessage, type WorkerSetup } from "./control.js";

interface RunExports {
  conv2dRun(phase: number, prepared: number, a: number, b: number, out: number, accumulate: number, work: number, t0: number, t1: number): void;
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
  const control = new Int32Array(setup.control);
  const wakeSlot = WORKER_SLOTS + 2 * setup.index;
  const spinSlot = setup.index === 0 ? LEAD_SPIN_MICROSECONDS : SPIN_MICROSECONDS;
  const runTask = (task: number) => {
    const p = readPhase(control);
    kernels.conv2dRun(p.phase, p.prepared, p.a, p.b, p.out, p.accumulate, p.workBase + setup.index * p.workStride, task, task + 1);
  };
  // Read the wake counter before saying ready: the pool may publish a phase as soon as it hears
  // "ready", and a worker that read the counter after that would sleep through it.
  let seen = Atomics.load(control, wakeSlot);
  channel.post({ type: "ready", index: setup.index });
  for (;;) {
    // Polls a moment (a phase that follows at once starts without a wake-up, which costs tens of
    // microseconds on a VM), then sleeps until the pool wakes this worker (Atomics.wait is allowed here).
    const until = performance.now() + Atomics.load(control, spinSlot) / 1000;
    while (Atomics.load(control, wakeSlot) === seen && performance.now() < until) { /* spin */ }
    Atomics.wait(control, wakeSlot, seen);
    seen = Atomics.load(control, wakeSlot);
    if (seen === TERMINATE) return;
    try {
      drainPhase(control, wakeSlot + 1, runTask);
    } catch {
      // drainPhase recorded the failure in the control block, where the pool reads it.
    }
  }
}
