package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"google.golang.org/grpc"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/head"
	"github.com/transfer-go/transfer/internal/onnxgraph"
	"github.com/transfer-go/transfer/models"
	"github.com/transfer-go/transfer/serve"
)

var (
	serveHeadsFlag  = &cli.StringSliceFlag{Name: "head", Category: catModel, Usage: "a head to serve: FILE, or NAME=FILE (repeat for several heads on one backbone; each is a model of the v2 protocol)"}
	grpcAddrFlag    = &cli.StringFlag{Name: "grpc-addr", Category: catRuntime, Usage: "also serve the Open Inference Protocol over gRPC (inference.GRPCInferenceService) on this address, e.g. 127.0.0.1:8001"}
	addrFlag        = &cli.StringFlag{Name: "addr", Category: catRuntime, Value: "127.0.0.1:8080", Usage: "address to listen on (port 0 picks a free one)"}
	maxBatchFlag    = &cli.IntFlag{Name: "max-batch", Category: catRuntime, Value: defaults.Batch, Usage: "images per backbone batch at most"}
	maxDelayFlag    = &cli.DurationFlag{Name: "max-delay", Category: catRuntime, Value: 5 * time.Millisecond, Usage: "how long a batch's first image waits for more"}
	maxQueueFlag    = &cli.IntFlag{Name: "max-queue", Category: catRuntime, Value: 64, Usage: "images waiting for a batch at most; beyond, requests get 503 with Retry-After"}
	maxBodyFlag     = &cli.IntFlag{Name: "max-body", Category: catRuntime, Value: 32, Usage: "request body limit in MB"}
	maxBodiesFlag   = &cli.IntFlag{Name: "max-bodies", Category: catRuntime, Value: 128, Usage: "MB of request bodies held at once, all requests together; beyond it a request gets 503 before its body is read"}
	maxImagesFlag   = &cli.IntFlag{Name: "max-images", Category: catRuntime, Value: 64, Usage: "images per request at most"}
	shutdownFlag    = &cli.DurationFlag{Name: "shutdown-timeout", Category: catRuntime, Value: 30 * time.Second, Usage: "on SIGTERM or SIGINT, how long in-flight requests may finish"}
	logFormatFlag   = &cli.StringFlag{Name: "log-format", Category: catOutput, Value: "text", Usage: "log lines as text or json (log/slog)"}
	serveWorkerFlag = &cli.IntFlag{Name: "workers", Category: catRuntime, Usage: "images decoded at once (default: one per core)"}
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "serve trained heads over HTTP: /v1/classify, the Open Inference Protocol (v2), a browser page, /metrics",
		Description: "transfer serve --head head.json serves a head on the backbone it records; --model M --head cats=a.json --head dogs=b.json serves several " +
			"on one backbone pass. Concurrent images are batched (--max-batch, --max-delay); a full queue answers 503. " +
			"SIGTERM or SIGINT stops accepting and lets requests finish; SIGHUP reloads the heads (the old ones serve until the new ones load and check).",
		Flags: slices.Concat([]cli.Flag{serveHeadsFlag, classifierFlag}, backboneFlags(), []cli.Flag{addrFlag, grpcAddrFlag, maxBatchFlag, maxDelayFlag, maxQueueFlag, maxBodyFlag, maxBodiesFlag, maxImagesFlag,
			serveWorkerFlag, maxFileSizeFlag, decodeMemoryFlag, shutdownFlag, logFormatFlag}),
		Action: serveAction,
	}
}

// headSpec is one --head: a name and a file.
type headSpec struct{ name, path string }

func parseHeadSpecs(c *cli.Context) ([]headSpec, error) {
	var specs []headSpec
	for _, v := range c.StringSlice(serveHeadsFlag.Name) {
		name, path, ok := strings.Cut(v, "=")
		if !ok {
			path, name = v, strings.TrimSuffix(filepath.Base(v), filepath.Ext(v))
		}
		if name == "" || path == "" || strings.ContainsAny(name, "/ ") {
			return nil, usageError{fmt.Errorf("--head %q: want FILE or NAME=FILE, the name without / or spaces", v)}
		}
		specs = append(specs, headSpec{name, path})
	}
	if len(specs) == 0 {
		return nil, usageError{errors.New("serve: give at least one --head FILE (made by transfer train -o FILE)")}
	}
	return specs, nil
}

// loadHeads reads every head; the first fills the backbone flags left open.
func loadHeads(c *cli.Context, specs []headSpec, first bool) ([]serve.Head, error) {
	var heads []serve.Head
	for i, s := range specs {
		var err error
		var h serve.Head
		h.Name = s.name
		if i == 0 && first {
			h.Model, err = applyHead(c, s.path)
		} else if h.Model, err = head.Load(s.path); err != nil {
			err = usageError{err}
		}
		if err != nil {
			return nil, err
		}
		heads = append(heads, h)
	}
	return heads, nil
}

func serveAction(c *cli.Context) error {
	var specs []headSpec
	var err error
	if c.String(classifierFlag.Name) == "" {
		if specs, err = parseHeadSpecs(c); err != nil {
			return err
		}
	} else if len(c.StringSlice(serveHeadsFlag.Name)) > 0 {
		return usageError{errors.New("serve: give --classifier (an exported classifier) or --head, not both")}
	}
	var logger *slog.Logger
	switch c.String(logFormatFlag.Name) {
	case "text":
		logger = slog.New(slog.NewTextHandler(c.App.ErrWriter, nil))
	case "json":
		logger = slog.New(slog.NewJSONHandler(c.App.ErrWriter, nil))
	default:
		return usageError{fmt.Errorf("--log-format %q: want text or json", c.String(logFormatFlag.Name))}
	}
	engine, modelName, cleanup, err := serveEngine(c, specs)
	if err != nil {
		return err
	}
	defer cleanup()
	pixels := engine.Pixels()
	decoder := pixels.Decoder
	heads := engine.Heads()
	srv := serve.New(engine, serve.Options{
		MaxBatch: c.Int(maxBatchFlag.Name), MaxDelay: c.Duration(maxDelayFlag.Name), MaxQueue: c.Int(maxQueueFlag.Name),
		MaxBody: int64(c.Int(maxBodyFlag.Name)) << 20, MaxBodies: int64(c.Int(maxBodiesFlag.Name)) << 20, MaxImages: c.Int(maxImagesFlag.Name), Workers: c.Int(serveWorkerFlag.Name),
		Decode: decodeOptions(c, decoder), Model: modelName, Version: version(), Logger: logger,
	})
	ln, err := net.Listen("tcp", c.String(addrFlag.Name))
	if err != nil {
		return usageError{fmt.Errorf("--addr %s: %w", c.String(addrFlag.Name), err)}
	}
	var gs *grpc.Server
	var gln net.Listener
	if a := c.String(grpcAddrFlag.Name); a != "" {
		if gln, err = net.Listen("tcp", a); err != nil {
			ln.Close()
			return usageError{fmt.Errorf("--grpc-addr %s: %w", a, err)}
		}
		gs = srv.GRPCServer()
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second, WriteTimeout: 120 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	// The session is destroyed (cleanup, deferred above) only once the
	// batcher has stopped: hs.Shutdown returns when no connection is open,
	// which can be while a batch whose clients gave up is still running
	// in ONNX Runtime, and destroying the session under it crashed.
	runCtx, stopRun := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		srv.Run(runCtx)
	}()
	defer func() {
		stopRun()
		<-runDone
	}()
	<-srv.Ready()
	var names []string
	for _, h := range heads {
		names = append(names, h.Name)
	}
	fmt.Fprintf(c.App.ErrWriter, "serving %s on http://%s (model %s, pixels %s)\n", strings.Join(names, ", "), ln.Addr(), modelName, pixels)
	logger.Info("listening", "addr", ln.Addr().String(), "heads", names)
	if gs != nil {
		fmt.Fprintf(c.App.ErrWriter, "serving gRPC (inference.GRPCInferenceService) on %s\n", gln.Addr())
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			if specs == nil {
				logger.Error("reload refused", "err", serve.ErrFixedModel)
				continue
			}
			fresh, err := loadHeads(c, specs, false)
			if err == nil {
				err = engine.Swap(fresh)
			}
			if err != nil {
				logger.Error("reload refused; the old heads keep serving", "err", err)
				continue
			}
			logger.Info("reloaded heads", "heads", names)
		}
	}()

	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(ln) }()
	if gs != nil {
		go func() { errc <- gs.Serve(gln) }()
	}
	select {
	case err := <-errc:
		return err
	case <-c.Context.Done(): // SIGTERM or SIGINT
	}
	logger.Info("shutting down: no new connections; in-flight requests may finish", "timeout", c.Duration(shutdownFlag.Name).String())
	ctx, cancel := context.WithTimeout(context.Background(), c.Duration(shutdownFlag.Name))
	defer cancel()
	if gs != nil {
		// In-flight calls finish, as HTTP's do; past the timeout they
		// are cut. Both stop before the batcher and the session.
		stopped := make(chan struct{})
		go func() { gs.GracefulStop(); close(stopped) }()
		defer func() {
			select {
			case <-stopped:
			case <-ctx.Done():
				gs.Stop()
			}
		}()
	}
	if err := hs.Shutdown(ctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// serveEngine opens what serve serves: an exported classifier, or the
// backbone of the heads with the heads. cleanup releases the session.
func serveEngine(c *cli.Context, specs []headSpec) (e *serve.Engine, name string, cleanup func(), err error) {
	if p := c.String(classifierFlag.Name); p != "" {
		m, err := onnxgraph.ReadFile(p)
		if err != nil {
			return nil, "", nil, usageError{err}
		}
		dev, err := backbone.ParseDevice(c.String(deviceFlag.Name))
		if err != nil {
			return nil, "", nil, usageError{err}
		}
		cl, err := models.OpenClassifier(m, p, backbone.Options{LibraryPath: c.String(ortLibFlag.Name), Device: dev, Threads: c.Int(threadsFlag.Name)})
		if err != nil {
			return nil, "", nil, err
		}
		name := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		return serve.ClassifierEngine(cl, name), filepath.Base(p), func() { cl.Destroy() }, nil
	}
	heads, err := loadHeads(c, specs, true)
	if err != nil {
		return nil, "", nil, err
	}
	if err := checkModelFlags(c); err != nil {
		return nil, "", nil, err
	}
	b, r, resizer, err := openBackbone(c)
	if err != nil {
		return nil, "", nil, err
	}
	decoder, err := dataset.ParseDecoder(c.String(decoderFlag.Name))
	if err != nil {
		b.Destroy()
		return nil, "", nil, usageError{err}
	}
	pixels := dataset.PixelSpec{Resizer: resizer, Decoder: decoder}
	source := models.Provenance(b.Info(), pixels, absPath(r.Path), catalogueName(r))
	e, err = serve.NewEngine(b, pixels, source, heads)
	if err != nil {
		b.Destroy()
		return nil, "", nil, usageError{err}
	}
	return e, filepath.Base(r.Path), func() { b.Destroy() }, nil
}
