/** A sleep that another part of the host can cut short (new work arrived, an invocation finished, stop). */
export class Wakeable {
  #waiters = new Set<() => void>();

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
    });
  }

  wake(): void {
    for (const w of [...this.#waiters]) w();
  }
}
