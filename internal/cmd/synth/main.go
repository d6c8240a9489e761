// Command synth makes the inputs of the project's benchmark scripts without
// any download: image sets, full-size MobileNetV2 models with random weights,
// and the peak memory of a command.
//
//	synth images -n 2000 -min 160 -max 1024 -o DIR   labelled JPEGs, one folder per class
//	synth model -flavour tf2onnx -o FILE.onnx        a 224x224 MobileNetV2
//	synth hostile -kind png16 -w 9000 -h 9000 -n 4 -o DIR   decompression bombs (png16, tiff, tall)
//	synth rss -- COMMAND ARGS...                     run COMMAND, print its peak RSS in MB
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"

	"github.com/transfer-go/transfer/internal/fixture/hostile"
	"github.com/transfer-go/transfer/internal/fixture/mobilenet"
	"github.com/transfer-go/transfer/internal/fixture/synthetic"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: synth images|model|rss ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "images":
		err = images(os.Args[2:])
	case "model":
		err = model(os.Args[2:])
	case "hostile":
		err = hostileFiles(os.Args[2:])
	case "rss":
		err = rss(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "synth:", err)
		os.Exit(1)
	}
}

func images(args []string) error {
	fs := flag.NewFlagSet("images", flag.ExitOnError)
	n := fs.Int("n", 2000, "images in all, half per class")
	minSide := fs.Int("min", 160, "smallest side in pixels")
	maxSide := fs.Int("max", 1024, "largest side in pixels")
	out := fs.String("o", "", "output folder")
	fs.Parse(args)
	if *out == "" {
		return fmt.Errorf("images: -o is required")
	}
	// Draw in parallel, one part of the set per core, each from its own seed.
	parts := runtime.NumCPU()
	errs := make(chan error, parts)
	var wg sync.WaitGroup
	for p := 0; p < parts; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			_, err := synthetic.Write(fmt.Sprintf("%s/part%d", *out, p), synthetic.Options{
				Classes: []string{"a", "b"}, PerClass: *n / 2 / parts, MinSide: *minSide, MaxSide: *maxSide,
				Layout: synthetic.Folders, Seed: uint64(p + 1)})
			errs <- err
		}(p)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func model(args []string) error {
	fs := flag.NewFlagSet("model", flag.ExitOnError)
	flavour := fs.String("flavour", "tf2onnx", "torch, mxnet, tf2onnx or keras2onnx")
	out := fs.String("o", "", "output file")
	fs.Parse(args)
	f := map[string]mobilenet.Flavour{"torch": mobilenet.Torch, "mxnet": mobilenet.MXNet, "tf2onnx": mobilenet.TF2ONNX, "keras2onnx": mobilenet.Keras2ONNX}
	fl, ok := f[*flavour]
	if !ok || *out == "" {
		return fmt.Errorf("model: need -o and a known -flavour")
	}
	return mobilenet.New(mobilenet.Config{Flavour: fl, Seed: 1}).WriteFile(*out)
}

func hostileFiles(args []string) error {
	fs := flag.NewFlagSet("hostile", flag.ExitOnError)
	kind := fs.String("kind", "png16", "png16 (16-bit RGBA PNG), tiff (16-bit RGB deflate TIFF) or tall (8-bit gray PNG)")
	w := fs.Int("w", 9000, "width in pixels")
	h := fs.Int("h", 9000, "height in pixels")
	n := fs.Int("n", 1, "copies")
	out := fs.String("o", "", "output folder")
	fs.Parse(args)
	if *out == "" {
		return fmt.Errorf("hostile: -o is required")
	}
	var data []byte
	ext := ".png"
	switch *kind {
	case "png16":
		data = hostile.PNG16(*w, *h)
	case "tiff":
		data, ext = hostile.DeflateTIFF(*w, *h), ".tif"
	case "tall":
		data = hostile.GrayPNG(*w, *h)
	default:
		return fmt.Errorf("hostile: unknown -kind %q", *kind)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	for i := 0; i < *n; i++ {
		name := fmt.Sprintf("%s/%s-%dx%d-%d%s", *out, *kind, *w, *h, i, ext)
		if err := os.WriteFile(name, data, 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("%d files of %d bytes\n", *n, len(data))
	return nil
}

func rss(args []string) error {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return fmt.Errorf("rss: no command")
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	err := cmd.Run()
	if u, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		fmt.Printf("peak RSS: %.1f MB\n", float64(u.Maxrss)/1024)
	}
	return err
}
