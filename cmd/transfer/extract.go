package main

import (
	"fmt"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/dataset"
)

func extractCommand() *cli.Command {
	return &cli.Command{
		Name:  "extract",
		Usage: "compute and cache the embeddings of a set of images",
		Description: "Every image is embedded at most once per model, preprocessing and resize mode: reruns, renamed and moved files " +
			"are served from the cache. Ctrl-C finishes the batch in flight, commits it and stops; rerun to resume.",
		Flags:  slices.Concat(backboneFlags(), dataFlags(), embedFlags(), []cli.Flag{shardFlag}),
		Action: extract,
	}
}

func extract(c *cli.Context) error {
	set, sess, err := begin(c, loadShard, true)
	if err != nil {
		return err
	}
	defer sess.close()
	if len(set.Items) == 0 {
		fmt.Fprintf(c.App.ErrWriter, "shard %s holds none of the images\n", c.String(shardFlag.Name))
		return nil
	}
	if !c.Bool(quietFlag.Name) {
		info := sess.b.Info()
		fmt.Fprintf(c.App.ErrWriter, "%s\nmodel %s: embedding tensor %q (%d values), %s preprocessing, pixels %s, cache %s\n",
			set.Summary(), sess.model.Path, info.Features.Tensor, info.Dim, info.Preprocess.Name, sess.pixels(), sess.cache.Path())
	}
	_, err = sess.embed(c.Context, set, false, false)
	return err
}

// loadShard reads the set like loadAnySet and keeps the --shard part of it.
func loadShard(c *cli.Context) (*dataset.Set, error) {
	set, err := loadAnySet(c)
	if err != nil {
		return nil, err
	}
	if s := c.String(shardFlag.Name); s != "" {
		sh, err := dataset.ParseShard(s)
		if err != nil {
			return nil, usageError{err}
		}
		set = set.Shard(sh)
	}
	return set, nil
}
