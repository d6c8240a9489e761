package main

import (
	"context"
	"encoding/binary"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/transfer-go/transfer/serve/inference"
)

// loadGRPC is load over gRPC: each client calls ModelInfer with one image
// as raw BYTES contents in a loop, on one shared connection (HTTP/2
// multiplexes the calls, as a client library does).
func loadGRPC(addr, model string, imgs [][]byte, clients int, d time.Duration) (result, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return result{}, err
	}
	defer conn.Close()
	c := inference.NewGRPCInferenceServiceClient(conn)
	reqs := make([]*inference.ModelInferRequest, len(imgs))
	for i, b := range imgs {
		raw := binary.LittleEndian.AppendUint32(nil, uint32(len(b)))
		reqs[i] = &inference.ModelInferRequest{ModelName: model,
			Inputs:           []*inference.ModelInferRequest_InferInputTensor{{Name: "images", Datatype: "BYTES", Shape: []int64{1}}},
			RawInputContents: [][]byte{append(raw, b...)}}
	}
	var mu sync.Mutex
	var res result
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for n := 0; n < clients; n++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := n; time.Now().Before(stop); i++ {
				start := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				_, err := c.ModelInfer(ctx, reqs[i%len(reqs)])
				cancel()
				lat := time.Since(start)
				mu.Lock()
				switch status.Code(err) {
				case codes.OK:
					res.lat = append(res.lat, lat)
				case codes.ResourceExhausted:
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
	return res, nil
}
