// Package experiment runs training protocols on embeddings that are already
// computed: one head fitted on all rows, a held-out split (by content, by
// position or a separate set), or k-fold cross-validation; a grid or random
// sweep over training options scored by such a protocol; and the choice of
// the L2 strength by validation. Commands (train, eval, sweep, the tutorial)
// and library users call it with embeddings from the cache, so an experiment
// runs no inference.
//
// Results depend on the data, the protocol and the options, seeds included,
// never on how many goroutines ran them.
package experiment
