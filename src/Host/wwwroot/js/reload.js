// @ts-check
/**
 * A section that loads itself (what is not in /api/state): one request at a time, and any asked for while one runs
 * become one more after it, so a burst of events costs at most two loads. `load` shows its own errors.
 */
export function coalesced(load) {
  let running = null;
  let again = false;
  return function reload() {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await load();
        } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  };
}
