package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/head"
	"github.com/transfer-go/transfer/internal/report"
)

var headFlag = &cli.StringFlag{
	Name: "head", Category: catModel, EnvVars: envVars("head"),
	Usage: "trained head file (from transfer train -o)",
}

func evalCommand() *cli.Command {
	return &cli.Command{
		Name:   "eval",
		Usage:  "measure a trained head on labelled images: loss, accuracy, confusion matrix, per-class precision/recall/F1",
		Flags:  concat(backboneFlags(), []cli.Flag{headFlag}, dataFlags(), embedFlags(), []cli.Flag{allowFailuresFlag, plotFlag, jsonFlag}),
		Action: eval,
	}
}

// loadHead reads --head and checks that the session's backbone produces the
// embeddings it was trained on.
func loadHead(c *cli.Context, sess *session) (*head.Model, error) {
	p := c.String(headFlag.Name)
	if p == "" {
		return nil, usageError{fmt.Errorf("no head: pass --head FILE (made by transfer train -o FILE)")}
	}
	m, err := head.Load(p)
	if err != nil {
		return nil, usageError{err}
	}
	if err := m.Source.Check(sess.provenance()); err != nil {
		return nil, usageError{fmt.Errorf("head %s: %w", p, err)}
	}
	if m.Layer.Inputs() != sess.b.Info().Dim {
		return nil, usageError{fmt.Errorf("head %s takes %d-d embeddings, the backbone makes %d", p, m.Layer.Inputs(), sess.b.Info().Dim)}
	}
	return m, nil
}

func eval(c *cli.Context) error {
	if err := checkModelFlags(c); err != nil {
		return err
	}
	set, err := loadSet(c)
	if err != nil {
		return err
	}
	sess, err := openSession(c)
	if err != nil {
		return err
	}
	defer sess.close()
	sess.needMost = true
	m, err := loadHead(c, sess)
	if err != nil {
		return err
	}
	if err := alignClasses(set, m.Classes); err != nil {
		return usageError{fmt.Errorf("--data: %w", err)}
	}
	x, err := sess.embed(c.Context, set, true, false)
	if err != nil {
		return err
	}
	data, err := toData(set, x)
	if err != nil {
		return err
	}
	met := head.Evaluate(m.Layer, data)
	if p := c.String(plotFlag.Name); p != "" {
		if err := report.ConfusionMatrix(p, "confusion matrix", met.Confusion, m.Classes); err != nil {
			return err
		}
	}
	if c.Bool(jsonFlag.Name) {
		return printJSONIf(c, struct {
			Classes []string `json:"classes"`
			head.Metrics
		}{m.Classes, met})
	}
	return met.WriteText(c.App.Writer, m.Classes)
}
