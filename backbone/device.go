package backbone

import (
	"fmt"
	"strconv"
	"strings"
)

// Device is where inference runs.
type Device struct {
	// CUDA selects the CUDA execution provider; false means the CPU.
	CUDA bool
	// ID is the CUDA device ordinal.
	ID int
}

// CPU is the default device.
var CPU = Device{}

func (d Device) String() string {
	if d.CUDA {
		return fmt.Sprintf("cuda:%d", d.ID)
	}
	return "cpu"
}

// ParseDevice reads "cpu", "cuda" (device 0) or "cuda:N".
func ParseDevice(s string) (Device, error) {
	switch s {
	case "", "cpu":
		return CPU, nil
	case "cuda", "gpu":
		return Device{CUDA: true}, nil
	}
	if rest, ok := strings.CutPrefix(s, "cuda:"); ok {
		id, err := strconv.Atoi(rest)
		if err != nil || id < 0 {
			return CPU, fmt.Errorf("bad device %q: the CUDA device must be a number, as in cuda:0", s)
		}
		return Device{CUDA: true, ID: id}, nil
	}
	return CPU, fmt.Errorf("unknown device %q: want cpu, cuda or cuda:N", s)
}
