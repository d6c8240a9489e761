// Command loadtest drives a transfer serve instance on this machine with
// concurrent clients posting images to /v1/classify, and reports
// throughput, latency percentiles, errors and the server's peak memory.
//
//	loadtest -url http://127.0.0.1:8080 -images DIR -clients 1,8,32 -duration 20s [-pid PID]
//	loadtest -url http://127.0.0.1:8080 -body-mb 31 -model NAME -clients 64 -duration 20s -pid PID
//	loadtest -grpc 127.0.0.1:8001 -model NAME -images DIR -clients 1,8,32 -duration 20s -pid PID
//
// Each client loops over the images, one per request, for the duration.
// With -body-mb each request is instead a /v2 inference request of that
// many MB of FP32 JSON (which the server must read and parse before it
// can refuse its shape): the test of the server-wide body budget. With
// -grpc each request is a gRPC ModelInfer of one image (BYTES, raw
// contents, as Triton's clients send) to that address.
// Only loopback URLs are accepted: it is a benchmark, not a flood tool.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	target := flag.String("url", "http://127.0.0.1:8080", "the server (loopback only)")
	dir := flag.String("images", "", "folder of images to send")
	clients := flag.String("clients", "1,8,32", "concurrent clients, one run per value")
	duration := flag.Duration("duration", 20*time.Second, "length of each run")
	pid := flag.Int("pid", 0, "server process, for its peak RSS")
	bodyMB := flag.Int("body-mb", 0, "send /v2 JSON bodies of this many MB instead of images")
	model := flag.String("model", "", "the head for -body-mb and -grpc")
	grpcAddr := flag.String("grpc", "", "send gRPC ModelInfer calls to this address instead")
	flag.Parse()
	if *grpcAddr != "" {
		*target = "http://" + *grpcAddr
	}
	if err := run(*target, *dir, *clients, *duration, *pid, *bodyMB, *model, *grpcAddr); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func run(target, dir, clients string, d time.Duration, pid, bodyMB int, model, grpcAddr string) error {
	u, err := url.Parse(target)
	if err != nil || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost" && u.Hostname() != "::1") {
		return fmt.Errorf("-url %s: only loopback servers", target)
	}
	endpoint, ctype := target+"/v1/classify", "application/octet-stream"
	var bodies [][]byte
	if bodyMB > 0 {
		endpoint, ctype = target+"/v2/models/"+model+"/infer", "application/json"
		bodies = [][]byte{bigBody(bodyMB)}
	} else {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil && len(b) > 0 {
				bodies = append(bodies, b)
			}
		}
		if len(bodies) == 0 {
			return fmt.Errorf("no images in %q", dir)
		}
	}
	fmt.Printf("%-8s %10s %10s %10s %8s %8s %12s %8s %10s\n", "clients", "requests", "images/s", "p50 ms", "p99 ms", "503s", "503 p99 ms", "errors", "peak MB")
	for _, f := range strings.Split(clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("-clients %q", clients)
		}
		var r result
		if grpcAddr != "" {
			if r, err = loadGRPC(grpcAddr, model, bodies, n, d); err != nil {
				return err
			}
		} else {
			r = load(endpoint, ctype, bodies, n, d)
		}
		pct := func(lat []time.Duration, p float64) float64 {
			if len(lat) == 0 {
				return 0
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
		}
		fmt.Printf("%-8d %10d %10.1f %10.1f %8.1f %8d %12.1f %8d %10s\n", n, len(r.lat)+r.busy, float64(len(r.lat))/d.Seconds(), pct(r.lat, 0.5), pct(r.lat, 0.99), r.busy, pct(r.busyLat, 0.99), r.errs, peak(pid))
	}
	return nil
}

type result struct {
	lat        []time.Duration // of successful requests
	busyLat    []time.Duration // of 503 answers
	busy, errs int
}

// bigBody is an inference request of about mb MB: FP32 values that do
// not fit the shape it declares.
func bigBody(mb int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"inputs":[{"name":"pixels","datatype":"FP32","shape":[1,1,1,3],"data":[`)
	for i := 0; b.Len() < mb<<20; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("0.123456789")
	}
	b.WriteString("]}]}")
	return b.Bytes()
}

func load(endpoint, ctype string, imgs [][]byte, clients int, d time.Duration) result {
	var mu sync.Mutex
	var res result
	stop := time.Now().Add(d)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; time.Now().Before(stop); i++ {
				start := time.Now()
				resp, err := client.Post(endpoint, ctype, bytes.NewReader(imgs[i%len(imgs)]))
				lat := time.Since(start)
				code := 0
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					code = resp.StatusCode
				}
				mu.Lock()
				switch {
				case code == 200 || (code == 400 && len(imgs[0]) > 1<<20): // a big body read and refused
					res.lat = append(res.lat, lat)
				case code == 503:
					res.busy++
					res.busyLat = append(res.busyLat, lat)
				default:
					res.errs++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return res
}

// peak reads a process's peak resident set (VmHWM) on Linux.
func peak(pid int) string {
	if pid == 0 {
		return "-"
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "-"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.Atoi(f[1])
			return fmt.Sprintf("%.0f", float64(kb)/1024)
		}
	}
	return "-"
}
