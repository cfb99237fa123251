// The branch-and-bound searches by kind: how a worker thread rebuilds, from its set-up, the search the main thread runs.
import { ChainInputSearch, BoxInputSearch } from './input-split';
import { ReluSearch } from './relu-split';
import type { BranchingSearch, SearchContext, SearchSetup } from './search';
import { layerChain } from './symbolic';

export function createSearch(ctx: SearchContext, setup: SearchSetup): BranchingSearch<unknown> {
  const s = setup.search;
  switch (s.kind) {
    case 'chain-input': {
      const chain = layerChain(ctx.bg);
      if (chain === null) throw new Error('the model is not a layer chain here, unlike in the main thread');
      return new ChainInputSearch(ctx, chain) as BranchingSearch<unknown>;
    }
    case 'box-input':
      return new BoxInputSearch(ctx) as BranchingSearch<unknown>;
    case 'relu':
      return new ReluSearch(ctx, s.options) as BranchingSearch<unknown>;
  }
}
