/**
 * Progress reporting seen from library code. Libraries never print: they call a `Progress`
 * handed to them, and the CLI decides how to show it (a bar on a terminal, nothing otherwise).
 */
export interface Progress {
  /** Starts a phase of `total` steps. */
  start(label: string, total: number): void;
  /** Advances by `n` steps (default 1), optionally with a short status such as "loss 0.31". */
  tick(n?: number, status?: string): void;
  /** Ends the current phase. */
  stop(): void;
}

export const silentProgress: Progress = {
  start() {},
  tick() {},
  stop() {},
};
