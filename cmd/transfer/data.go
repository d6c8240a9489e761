package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/dataset"
)

func dataFlags() []cli.Flag {
	return []cli.Flag{dataFlag, manifestFlag, labelRegexFlag, classesFlag, headerFlag, allowOutsideFlag, allowEmptyClassesFlag}
}

// loadSet reads the labelled set the data flags describe.
func loadSet(c *cli.Context) (*dataset.Set, error) {
	s, err := readSet(c, c.String(dataFlag.Name), c.String(manifestFlag.Name), c.String(labelRegexFlag.Name), c.String(classesFlag.Name))
	if err != nil {
		return nil, err
	}
	// A class folder without images is a class the head would not have:
	// refused unless asked (it vanished with exit 0 before).
	if len(s.EmptyClasses) > 0 && !c.Bool(allowEmptyClassesFlag.Name) {
		return nil, usageError{fmt.Errorf("class folder %s of %s holds no image: put its images in, remove it, or pass --%s to train without it",
			strings.Join(s.EmptyClasses, ", "), s.Root, allowEmptyClassesFlag.Name)}
	}
	reportSkipped(c, s)
	return s, nil
}

// reportSkipped lists the files a set left out, and why (the first ten).
func reportSkipped(c *cli.Context, s *dataset.Set) {
	if c.Bool(quietFlag.Name) {
		return
	}
	const shown = 10
	for i, why := range s.Skipped {
		if i == shown {
			fmt.Fprintf(c.App.ErrWriter, "skipped %d more files\n", len(s.Skipped)-shown)
			break
		}
		fmt.Fprintf(c.App.ErrWriter, "skipped %s\n", terminalSafe(why))
	}
	if s.Loose > 0 {
		fmt.Fprintf(c.App.ErrWriter, "warning: %s directly in %s, beside the class folders, not used: move them into a class folder to train on them\n",
			nImages(s.Loose), terminalSafe(s.Root))
	}
}

// readSet reads a labelled set from a folder (with a label rule) or a
// manifest. A --data path ending in .csv is read as a manifest.
func readSet(c *cli.Context, dir, manifest, regex, classes string) (*dataset.Set, error) {
	if manifest == "" && strings.HasSuffix(strings.ToLower(dir), ".csv") {
		dir, manifest = "", dir
	}
	var s *dataset.Set
	var err error
	switch {
	case manifest != "" && dir != "":
		return nil, usageError{fmt.Errorf("give --data or --manifest, not both")}
	case manifest != "":
		opts := dataset.ManifestOptions{AllowOutside: c.Bool(allowOutsideFlag.Name)}
		if c.IsSet(headerFlag.Name) {
			opts.Header = dataset.HeaderAbsent
			if c.Bool(headerFlag.Name) {
				opts.Header = dataset.HeaderPresent
			}
		}
		s, err = dataset.FromManifest(manifest, opts)
	case dir == "":
		return nil, usageError{fmt.Errorf("no images: pass --data DIR (or --manifest FILE.csv)")}
	case regex != "":
		s, err = dataset.FromRegex(dir, regex, classes)
	case classes != "":
		return nil, usageError{fmt.Errorf("--classes maps the keys of --label-regex; give --label-regex too")}
	default:
		s, err = dataset.FromFolders(dir)
	}
	if err != nil {
		return nil, usageError{err}
	}
	return s, nil
}

// loadAnySet reads the data flags like loadSet, but a folder without class
// subfolders becomes an unlabelled set: extraction needs no labels.
func loadAnySet(c *cli.Context) (*dataset.Set, error) {
	dir := c.String(dataFlag.Name)
	if dir != "" && c.String(manifestFlag.Name) == "" && c.String(labelRegexFlag.Name) == "" && !strings.HasSuffix(strings.ToLower(dir), ".csv") {
		if s, err := dataset.FromFolders(dir); err == nil {
			reportSkipped(c, s)
			return s, nil
		}
		s, err := dataset.FromPaths(dir)
		if err != nil {
			return nil, usageError{err}
		}
		reportSkipped(c, s)
		return s, nil
	}
	return loadSet(c)
}
