package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/dataset"
)

func cacheCommand() *cli.Command {
	return &cli.Command{
		Name:  "cache",
		Usage: "inspect, check, merge and export embedding caches",
		Subcommands: []*cli.Command{
			{
				Name:   "stats",
				Usage:  "list the models in a cache with their entry counts and the file's size",
				Flags:  []cli.Flag{cacheFlag},
				Action: cacheStats,
			},
			{
				Name:   "check",
				Usage:  "verify every row: dimension, finite values, known backbone, SQLite integrity",
				Flags:  []cli.Flag{cacheFlag},
				Action: cacheCheck,
			},
			{
				Name:      "merge",
				Usage:     "combine caches (e.g. the shards of a parallel extraction) into OUT",
				ArgsUsage: "OUT IN...",
				Action:    cacheMerge,
			},
			{
				Name:  "export",
				Usage: "write a set's embeddings as NumPy files: embeddings.npy, labels.npy, index.csv",
				Flags: slices.Concat(backboneFlags(), dataFlags(), embedFlags(), []cli.Flag{
					npyFormatFlag, npyOutputFlag,
				}),
				Action: cacheExport,
			},
		},
	}
}

// openCacheFlag opens --cache read-only, for the commands that only read:
// a mistyped path is an error, never a new empty cache.
func openCacheFlag(c *cli.Context) (*dataset.Cache, error) {
	cache, err := dataset.OpenCacheReadOnly(c.String(cacheFlag.Name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, usageError{fmt.Errorf("%w; pass the path of an existing cache with --cache", err)}
	}
	if errors.Is(err, dataset.ErrNotCache) || errors.Is(err, dataset.ErrCacheTooNew) {
		return nil, usageError{fmt.Errorf("%w; pass another --cache path", err)}
	}
	if err != nil {
		return nil, usageError{err}
	}
	return cache, nil
}

func cacheStats(c *cli.Context) error {
	cache, err := openCacheFlag(c)
	if err != nil {
		return err
	}
	defer cache.Close()
	s, err := cache.Stats(c.Context)
	if err != nil {
		return err
	}
	w := c.App.Writer
	fmt.Fprintf(w, "cache %s: %.1f MB, %d distinct images, %s embeddings\n\n", s.Path, float64(s.Bytes)/1e6, s.Images, cache.Precision())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FINGERPRINT\tMODEL\tTENSOR\tDIM\tPREPROCESS\tRESIZE\tENTRIES\tWITH LOGITS")
	for _, b := range s.Backbones {
		fmt.Fprintf(tw, "%.12s\t%s\t%s\t%d\t%s\t%s\t%d\t%d\n", b.Fingerprint, b.Model, b.EmbeddingTensor, b.Dim, b.Preprocess, b.Resize, b.Entries, b.Logits)
	}
	return tw.Flush()
}

func cacheCheck(c *cli.Context) error {
	cache, err := openCacheFlag(c)
	if err != nil {
		return err
	}
	defer cache.Close()
	const shown = 50
	probs, rows, err := cache.Check(c.Context, shown)
	if err != nil {
		return err
	}
	for _, p := range probs {
		fmt.Fprintln(c.App.Writer, p)
	}
	if len(probs) > 0 {
		return fmt.Errorf("cache %s: %d rows checked, problems found (at most %d shown); re-extract the affected images into a fresh --cache", cache.Path(), rows, shown)
	}
	fmt.Fprintf(c.App.Writer, "cache %s: %d rows checked, no problems\n", cache.Path(), rows)
	return nil
}

func cacheMerge(c *cli.Context) error {
	if c.NArg() < 2 {
		return usageError{fmt.Errorf("cache merge: give the output cache and at least one input (transfer cache merge OUT IN [IN ...])")}
	}
	st, err := dataset.MergeCaches(c.Context, c.Args().First(), c.Args().Tail()...)
	if err != nil {
		return usageError{err}
	}
	fmt.Fprintf(c.App.Writer, "merged %d inputs into %s: %d new embeddings, %d runs, %d split sides\n", c.NArg()-1, c.Args().First(), st.Embeddings, st.Runs, st.Splits)
	return nil
}

func cacheExport(c *cli.Context) error {
	if err := requireFlag(c, npyOutputFlag.Name, "the folder to write the NumPy files to"); err != nil {
		return err
	}
	if f := c.String(npyFormatFlag.Name); f != "npy" {
		return usageError{fmt.Errorf("cache export: unknown --format %q (npy is supported)", f)}
	}
	set, sess, err := begin(c, loadAnySet, false)
	if err != nil {
		return err
	}
	defer sess.close()
	x, err := sess.embed(c.Context, set, true, false)
	if err != nil {
		return err
	}
	n, err := dataset.ExportNPY(c.String(npyOutputFlag.Name), set, x.Vectors)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "wrote %d embeddings of %d values to %s (embeddings.npy, labels.npy, index.csv)\n", n, sess.b.Info().Dim, c.String(npyOutputFlag.Name))
	return nil
}
