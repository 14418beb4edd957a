// Waiting for the GPU in Node without taking a CPU core from a CPU adapter (ours). dawn.node
// resolves mapAsync / onSubmittedWorkDone by ticking the device from a setImmediate loop that
// runs for as long as any such promise is pending: the main thread polls flat out. On a software
// adapter (lavapipe, SwiftShader) the "GPU" is a thread pool on the same cores, so that polling
// slows the very work it waits for. Measured on lavapipe, 2 cores, the embedded UNet at batch 1
// (20 readbacks of a forward): the main thread was busy ~43% of the wait (640-660 ms of CPU over
// 1.3-1.6 s); sleeping 0.3-1 ms between ticks cut that to 70-120 ms and the waits to 0.95-1.1 s.
// So on software adapters each wait sleeps the main thread (Atomics.wait: a real sleep, allowed
// on Node's main thread, never in a browser's) between event-loop turns; the ticks still run,
// just not back to back. A hardware adapter keeps Dawn's loop (the lowest latency).

/** Sleep between two event-loop turns while a GPU wait is pending. */
export const GPU_WAIT_SLEEP_MS = 0.5;

const cell = new Int32Array(new SharedArrayBuffer(4));

/** Awaits `p`, sleeping `sleepMs` between event-loop turns until it settles. */
export async function sleepingWait<T>(p: Promise<T>, sleepMs = GPU_WAIT_SLEEP_MS): Promise<T> {
  let settled = false;
  p.then(() => { settled = true; }, () => { settled = true; });
  while (!settled) {
    Atomics.wait(cell, 0, 0, sleepMs);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return p;
}
