package experiment

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/transfer-go/transfer/head"
)

// Params are the training options a sweep can vary, by their flag names.
var Params = []string{"solver", "lr", "l2", "epochs", "batch-size", "class-weight", "standardize", "tol", "max-iter"}

// LogScale reports whether a parameter's values are best compared on a
// log axis.
func LogScale(name string) bool { return name == "lr" || name == "l2" || name == "tol" }

// Set sets the option name to value in o, as its flag would.
func Set(o *head.Options, name, value string) error {
	value = strings.TrimSpace(value)
	bad := func(want string) error { return fmt.Errorf("--%s %q: want %s", name, value, want) }
	float := func() (float64, error) {
		x, err := strconv.ParseFloat(value, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, bad("a number")
		}
		return x, nil
	}
	integer := func() (int, error) {
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 {
			return 0, bad("a positive whole number")
		}
		return n, nil
	}
	var err error
	switch name {
	case "solver":
		if value != head.SolverAdam && value != head.SolverLBFGS {
			return bad("adam or lbfgs")
		}
		o.Solver = value
	case "lr":
		if o.LearningRate, err = float(); err == nil && !(o.LearningRate > 0) {
			return bad("a positive learning rate")
		}
	case "l2":
		if o.L2, err = float(); err == nil && o.L2 < 0 {
			return bad("an L2 strength of at least 0")
		}
	case "tol":
		if o.Tol, err = float(); err == nil && o.Tol < 0 {
			return bad("a tolerance of at least 0")
		}
	case "epochs":
		o.Epochs, err = integer()
	case "batch-size":
		o.BatchSize, err = integer()
	case "max-iter":
		o.MaxIter, err = integer()
	case "class-weight":
		switch value {
		case "none", "":
			o.Balanced, o.ClassWeights = false, nil
		case "balanced":
			o.Balanced, o.ClassWeights = true, nil
		default:
			return bad("none or balanced")
		}
	case "standardize":
		b, perr := strconv.ParseBool(value)
		if perr != nil {
			return bad("true or false")
		}
		o.Standardize = b
	default:
		return fmt.Errorf("--%s cannot be swept (the parameters are %s)", name, strings.Join(Params, ", "))
	}
	return err
}
