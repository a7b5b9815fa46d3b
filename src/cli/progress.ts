/** The terminal side of `Progress`: a cli-progress bar on a TTY, silence otherwise. */
import { SingleBar, Presets } from 'cli-progress';
import { type Progress, silentProgress } from '../core/progress.js';

export function terminalProgress(enabled = Boolean(process.stderr.isTTY)): Progress {
  if (!enabled) return silentProgress;
  let bar: SingleBar | null = null;
  return {
    start(label, total) {
      bar?.stop();
      bar = new SingleBar(
        {
          format: `${label.padEnd(18).slice(0, 18)} {bar} {value}/{total} {percentage}% | eta {eta_formatted} {status}`,
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: false,
        },
        Presets.shades_classic,
      );
      bar.start(total, 0, { status: '' });
    },
    tick(n = 1, status) {
      bar?.increment(n, status === undefined ? undefined : { status });
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}
