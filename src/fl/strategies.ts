/** The federated methods: `method` in the config → its strategy. A new method is its strategy file plus one line here (and its name in config.ts's METHODS). */
import type { FlConfig, Method } from './config.js';
import { fedAvgStrategy } from './fedavg.js';
import { pkdStrategy } from './pkd.js';
import type { Strategy } from './strategy.js';

const STRATEGIES: Record<Method, (cfg: FlConfig) => Strategy> = {
  fedavg: fedAvgStrategy,
  pkd: pkdStrategy,
};

export function strategyFor(cfg: FlConfig): Strategy {
  return STRATEGIES[cfg.method](cfg);
}
