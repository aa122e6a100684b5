// A background loop: runs `tick`, waits `interval_ms`, runs it again. Never two ticks at once.
export interface Loop {
  stop(): Promise<void>;
  /** Runs a tick now (after the current one), for tests and shutdown. */
  kick(): Promise<void>;
}

export function startLoop(tick: () => Promise<unknown>, interval_ms: number, onError: (error: unknown) => void): Loop {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();

  const run = (): Promise<void> => {
    current = current.then(async () => {
      if (stopped) return;
      try {
        await tick();
      } catch (error) {
        onError(error);
      }
    });
    return current;
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void run().then(schedule), interval_ms);
    timer.unref();
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current;
    },
    kick: run,
  };
}
