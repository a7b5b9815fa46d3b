/** FedAvg (McMahan et al. 2017) as a strategy: one phase of `rounds` global rounds. */
import type { FlConfig } from './config.js';
import type { Strategy, StrategyContext } from './strategy.js';

export function fedAvgStrategy(cfg: FlConfig): Strategy {
  return {
    name: 'fedavg',
    initialState: () => ({}),
    inheritedPhase: () => 'fedavg',
    async start(ctx: StrategyContext): Promise<void> {
      await ctx.globalRounds(cfg.rounds, 'fedavg', ctx.globalPlan(), { label: 'FedAvg rounds' });
    },
    record: () => ({}),
  };
}
