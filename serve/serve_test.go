package serve

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/head"
)

// fakeBackbone embeds an image as the means of its three channels and 1;
// block, when set, holds every batch until it is closed.
type fakeBackbone struct {
	block   chan struct{}
	mu      sync.Mutex
	batches []int
	started int // batches that reached Embed
}

func (f *fakeBackbone) Info() backbone.Info {
	return backbone.Info{Layout: backbone.NHWC, Height: 8, Width: 8, Preprocess: backbone.Raw, Dim: 4, Fingerprint: "fp"}
}

func (f *fakeBackbone) Embed(ctx context.Context, batch []float32) ([][]float32, error) {
	f.mu.Lock()
	f.started++
	f.mu.Unlock()
	if f.block != nil {
		<-f.block
	}
	il := f.Info().InputLen()
	n := len(batch) / il
	f.mu.Lock()
	f.batches = append(f.batches, n)
	f.mu.Unlock()
	out := make([][]float32, n)
	for i := range out {
		var m [3]float32
		img := batch[i*il : (i+1)*il]
		for p := 0; p < len(img); p += 3 {
			m[0], m[1], m[2] = m[0]+img[p], m[1]+img[p+1], m[2]+img[p+2]
		}
		px := float32(il / 3)
		out[i] = []float32{m[0] / px, m[1] / px, m[2] / px, 1} // Raw: pixels already /255
	}
	return out, nil
}

var pixels = dataset.PixelSpec{Resizer: dataset.Resizer{Width: 8, Height: 8}}

func source() head.Provenance { return head.Provenance{Fingerprint: "fp", Pixels: pixels.String()} }

func testHead(name string, classes ...string) Head {
	rng := rand.New(rand.NewPCG(1, uint64(len(name))))
	return Head{Name: name, Model: &head.Model{Layer: head.NewDense(4, len(classes), rng), Classes: classes, Source: source()}}
}

func pngOf(c color.NRGBA) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 20, 10))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 255
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

func newTestServer(t *testing.T, fb *fakeBackbone, opts Options, heads ...Head) (*Server, *httptest.Server) {
	t.Helper()
	if len(heads) == 0 {
		heads = []Head{testHead("pets", "cat", "dog", "fish")}
	}
	e, err := NewEngine(fb, pixels, source(), heads)
	if err != nil {
		t.Fatal(err)
	}
	s := New(e, opts)
	ctx, cancel := context.WithCancel(context.Background())
	go s.Run(ctx)
	ts := httptest.NewServer(s)
	t.Cleanup(func() { ts.Close(); cancel() })
	for !s.isReady() {
		time.Sleep(time.Millisecond)
	}
	return s, ts
}

func post(t *testing.T, url, ctype string, body []byte) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(url, ctype, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// want computes a head's probabilities for a uniform image directly.
func want(h Head, c color.NRGBA) []float64 {
	p, _ := h.Model.Layer.Probabilities([][]float32{{float32(c.R) / 255, float32(c.G) / 255, float32(c.B) / 255, 1}})
	return p[0]
}

func TestClassify(t *testing.T) {
	fb := &fakeBackbone{}
	heads := []Head{testHead("pets", "cat", "dog", "fish"), testHead("mood", "calm", "angry")}
	_, ts := newTestServer(t, fb, Options{}, heads...)
	red := color.NRGBA{R: 200, G: 30, B: 60}

	resp, body := post(t, ts.URL+"/v1/classify?k=2", "image/png", pngOf(red))
	var got ClassifyResponse
	if err := json.Unmarshal(body, &got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if len(got.Results) != 1 || len(got.Results[0].Heads) != 2 || len(got.Results[0].Heads[0].Top) != 2 {
		t.Fatalf("answer %+v", got)
	}
	for hi, h := range heads {
		exp := want(h, red)
		for _, cp := range got.Results[0].Heads[hi].Top {
			i := indexOf(h.Model.Classes, cp.Class)
			if math.Abs(cp.Probability-exp[i]) > 1e-6 {
				t.Errorf("head %s class %s: %v, want %v", h.Name, cp.Class, cp.Probability, exp[i])
			}
		}
	}

	// A multipart upload with a bad image among good ones: each answered.
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	for name, b := range map[string][]byte{"a.png": pngOf(red), "broken.jpg": []byte("not an image"), "c.png": pngOf(color.NRGBA{G: 255})} {
		fw, _ := mw.CreateFormFile("image", name)
		fw.Write(b)
	}
	mw.Close()
	resp, body = post(t, ts.URL+"/v1/classify", mw.FormDataContentType(), form.Bytes())
	got = ClassifyResponse{}
	json.Unmarshal(body, &got)
	if resp.StatusCode != 200 || len(got.Results) != 3 {
		t.Fatalf("multipart: %d %s", resp.StatusCode, body)
	}
	for _, r := range got.Results {
		if (r.Image == "broken.jpg") != (r.Error != "") || (r.Error == "" && len(r.Heads) != 2) {
			t.Errorf("result %+v", r)
		}
	}

	// When no image can be classified, the status says so.
	form.Reset()
	mw = multipart.NewWriter(&form)
	for _, name := range []string{"x.jpg", "y.jpg"} {
		fw, _ := mw.CreateFormFile("image", name)
		fw.Write([]byte("not an image"))
	}
	mw.Close()
	resp, body = post(t, ts.URL+"/v1/classify", mw.FormDataContentType(), form.Bytes())
	got = ClassifyResponse{}
	json.Unmarshal(body, &got)
	if resp.StatusCode != 400 || len(got.Results) != 2 || !strings.HasPrefix(got.Error, "none of the 2 images") {
		t.Errorf("all images broken: %d %s", resp.StatusCode, body)
	}
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// TestMalformedRequests: every bad request gets its status and a JSON
// error. A request whose only image fails is a 400 (curl -f and every
// client's status check must see it), with the image's error.
func TestMalformedRequests(t *testing.T) {
	_, ts := newTestServer(t, &fakeBackbone{}, Options{MaxBody: 1 << 20})
	var huge bytes.Buffer
	huge.Write([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\xea\x60\x00\x00\xea\x60\x08\x02\x00\x00\x00"))
	tinyPNG := pngOf(color.NRGBA{R: 1})
	b64 := base64.StdEncoding.EncodeToString(tinyPNG)
	cases := []struct {
		name, path, ctype, body string
		code                    int
		perImage                bool
	}{
		{"zero bytes", "/v1/classify", "image/jpeg", "", 400, false},
		{"wrong content type", "/v1/classify", "text/plain", "hello", 415, false},
		{"over the body limit", "/v1/classify", "image/png", strings.Repeat("x", 1<<20+10), 413, false},
		{"not an image", "/v1/classify", "image/jpeg", "plain text", 400, true},
		{"truncated", "/v1/classify", "image/png", string(tinyPNG[:len(tinyPNG)/2]), 400, true},
		{"60000x60000 header", "/v1/classify", "image/png", huge.String(), 400, true},
		{"bad k", "/v1/classify?k=0", "image/png", string(tinyPNG), 400, false},
		{"v2 not JSON", "/v2/models/pets/infer", "application/json", "{", 400, false},
		{"v2 wrong datatype", "/v2/models/pets/infer", "application/json", `{"inputs":[{"name":"images","datatype":"INT8","shape":[1],"data":[1]}]}`, 400, false},
		{"v2 shape/data mismatch", "/v2/models/pets/infer", "application/json", `{"inputs":[{"name":"images","datatype":"BYTES","shape":[2],"data":["` + b64 + `"]}]}`, 400, false},
		{"v2 FP32 wrong count", "/v2/models/pets/infer", "application/json", `{"inputs":[{"name":"pixels","datatype":"FP32","shape":[1,8,8,3],"data":[1,2,3]}]}`, 400, false},
		{"v2 unknown model", "/v2/models/nope/infer", "application/json", `{"inputs":[]}`, 404, false},
		{"v2 unknown output", "/v2/models/pets/infer", "application/json", `{"inputs":[{"name":"images","datatype":"BYTES","shape":[1],"data":["` + b64 + `"]}],"outputs":[{"name":"logits"}]}`, 400, false},
	}
	for _, tc := range cases {
		resp, body := post(t, ts.URL+tc.path, tc.ctype, []byte(tc.body))
		if resp.StatusCode != tc.code || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d (%s), want %d:\n%s", tc.name, resp.StatusCode, resp.Header.Get("Content-Type"), tc.code, body)
			continue
		}
		if tc.perImage {
			var got ClassifyResponse
			if json.Unmarshal(body, &got); len(got.Results) != 1 || got.Results[0].Error == "" || got.Error == "" {
				t.Errorf("%s: no per-image and request error: %s", tc.name, body)
			}
		} else {
			var e errorBody
			if json.Unmarshal(body, &e); e.Error == "" {
				t.Errorf("%s: no JSON error: %s", tc.name, body)
			}
		}
	}
}

// TestOpenInferenceProtocol: health, metadata and inference with encoded
// images and with preprocessed pixels give the same probabilities as
// /v1/classify.
func TestOpenInferenceProtocol(t *testing.T) {
	h := testHead("pets", "cat", "dog", "fish")
	_, ts := newTestServer(t, &fakeBackbone{}, Options{}, h)
	for _, p := range []string{"/v2/health/live", "/v2/health/ready", "/v2/models/pets/ready", "/v2"} {
		resp, err := http.Get(ts.URL + p)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("GET %s: %v %v", p, resp.Status, err)
		}
	}
	resp, err := http.Get(ts.URL + "/v2/models/pets")
	if err != nil {
		t.Fatal(err)
	}
	var meta ModelMetadata
	json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	if meta.Name != "pets" || len(meta.Inputs) != 2 || meta.Inputs[1].Shape[1] != 8 || meta.Inputs[1].Datatype != "FP32" || meta.Outputs[0].Shape[1] != 3 ||
		meta.Parameters["classes"] != `["cat","dog","fish"]` || meta.Parameters["class_count"] != 3.0 {
		t.Errorf("metadata %+v", meta)
	}

	colors := []color.NRGBA{{R: 200, G: 30, B: 60}, {G: 250}}
	var elems []string
	var floats []float32
	for _, c := range colors {
		elems = append(elems, base64.StdEncoding.EncodeToString(pngOf(c)))
		for i := 0; i < 64; i++ {
			floats = append(floats, float32(c.R)/255, float32(c.G)/255, float32(c.B)/255)
		}
	}
	bytesReq, _ := json.Marshal(map[string]any{"id": "r1", "inputs": []map[string]any{{"name": "images", "datatype": "BYTES", "shape": []int{2}, "data": elems}}})
	fpReq, _ := json.Marshal(map[string]any{"inputs": []map[string]any{{"name": "pixels", "datatype": "FP32", "shape": []int{2, 8, 8, 3}, "data": floats}}})
	for name, req := range map[string][]byte{"BYTES": bytesReq, "FP32": fpReq} {
		resp, body := post(t, ts.URL+"/v2/models/pets/infer", "application/json", req)
		var got inferAnswer
		if err := json.Unmarshal(body, &got); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", name, resp.StatusCode, body)
		}
		o := got.Outputs[0]
		if got.ModelName != "pets" || o.Name != "probabilities" || fmt.Sprint(o.Shape) != "[2 3]" || len(o.Data) != 6 {
			t.Fatalf("%s: %+v", name, got)
		}
		for i, c := range colors {
			exp := want(h, c)
			for j := range exp {
				if math.Abs(o.Data[i*3+j]-exp[j]) > 1e-6 {
					t.Errorf("%s image %d class %d: %v, want %v", name, i, j, o.Data[i*3+j], exp[j])
				}
			}
		}
		if name == "BYTES" && got.ID != "r1" {
			t.Errorf("id %q not echoed", got.ID)
		}
	}
}

// inferAnswer is InferResponse as a client decodes it.
type inferAnswer struct {
	ModelName    string `json:"model_name"`
	ModelVersion string `json:"model_version"`
	ID           string `json:"id"`
	Outputs      []struct {
		Name       string         `json:"name"`
		Shape      []int64        `json:"shape"`
		Datatype   string         `json:"datatype"`
		Parameters map[string]any `json:"parameters"`
		Data       []float64      `json:"data"`
	} `json:"outputs"`
}

// TestOverloadAnswers503: with the batch held and the queue full, further
// requests are answered 503 with Retry-After at once.
func TestOverloadAnswers503(t *testing.T) {
	fb := &fakeBackbone{block: make(chan struct{})}
	_, ts := newTestServer(t, fb, Options{MaxQueue: 1, MaxBatch: 1, MaxDelay: time.Millisecond})
	body := pngOf(color.NRGBA{R: 9})
	var wg sync.WaitGroup
	codes := make(chan int, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := post(t, ts.URL+"/v1/classify", "image/png", body)
			if resp.StatusCode == 503 && resp.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			codes <- resp.StatusCode
		}()
	}
	// At most one request runs (held) and one waits in the queue; the
	// rest are refused without waiting for the held batch.
	refused := 0
	for refused < 6 {
		select {
		case c := <-codes:
			if c != 503 {
				t.Fatalf("status %d while the batch is held", c)
			}
			refused++
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of 8 requests refused while the queue was full", refused)
		}
	}
	close(fb.block)
	wg.Wait()
	close(codes)
	ok := 0
	for c := range codes {
		switch c {
		case 200:
			ok++
		case 503:
		default:
			t.Errorf("status %d", c)
		}
	}
	if ok == 0 {
		t.Error("no request was served once the batch was released")
	}
}

// TestConcurrentRequestsBatch: concurrent requests share batches, every
// answer is right, and the metrics count them.
func TestConcurrentRequestsBatch(t *testing.T) {
	fb := &fakeBackbone{}
	h := testHead("pets", "cat", "dog", "fish")
	_, ts := newTestServer(t, fb, Options{MaxBatch: 16, MaxDelay: 20 * time.Millisecond}, h)
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := color.NRGBA{R: uint8(i * 7), G: uint8(255 - i), B: 40}
			resp, body := post(t, ts.URL+"/v1/classify?k=3", "image/png", pngOf(c))
			var got ClassifyResponse
			if json.Unmarshal(body, &got); resp.StatusCode != 200 || len(got.Results) != 1 {
				t.Errorf("%d %s", resp.StatusCode, body)
				return
			}
			exp := want(h, c)
			for _, cp := range got.Results[0].Heads[0].Top {
				if math.Abs(cp.Probability-exp[indexOf(h.Model.Classes, cp.Class)]) > 1e-6 {
					t.Errorf("request %d: %s %v, want %v", i, cp.Class, cp.Probability, exp)
				}
			}
		}()
	}
	wg.Wait()
	fb.mu.Lock()
	largest := 0
	for _, n := range fb.batches {
		largest = max(largest, n)
	}
	fb.mu.Unlock()
	if largest < 2 {
		t.Errorf("32 concurrent requests never shared a batch: %v", fb.batches)
	}
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`transfer_requests_total{code="200",route="/v1/classify"} 32`, "transfer_batch_size_count", "transfer_images_decoded_total 32", "transfer_queue_depth"} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	resp, err = http.Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "/v1/classify") {
		t.Errorf("GET /: %d", resp.StatusCode)
	}
}

func TestSwapRefusesMismatchedHeads(t *testing.T) {
	e, err := NewEngine(&fakeBackbone{}, pixels, source(), []Head{testHead("pets", "cat", "dog")})
	if err != nil {
		t.Fatal(err)
	}
	bad := testHead("other", "a", "b")
	bad.Model.Source.Fingerprint = "another backbone"
	if err := e.Swap([]Head{bad}); err == nil {
		t.Error("a head of another backbone was accepted")
	}
	if len(e.Heads()) != 1 || e.Heads()[0].Name != "pets" {
		t.Error("a refused swap changed the heads")
	}
	if err := e.Swap([]Head{testHead("a", "x", "y"), testHead("a", "x", "y")}); err == nil {
		t.Error("two heads of one name were accepted")
	}
}

// nanBackbone is fakeBackbone, but an image whose first pixel is over 1
// embeds as NaN, as out-of-range pixels do in a real backbone.
type nanBackbone struct{ fakeBackbone }

func (f *nanBackbone) Embed(ctx context.Context, batch []float32) ([][]float32, error) {
	out, err := f.fakeBackbone.Embed(ctx, batch)
	il := f.Info().InputLen()
	for i := range out {
		if batch[i*il] > 1 {
			out[i] = []float32{float32(math.NaN()), 0, 0, 1}
		}
	}
	return out, err
}

// TestNonFiniteEmbeddingFailsAlone: one client's out-of-range pixels fail
// that image, never the others in its batch, and are not blamed on the
// head.
func TestNonFiniteEmbeddingFailsAlone(t *testing.T) {
	h := testHead("pets", "cat", "dog", "fish")
	e, err := NewEngine(&nanBackbone{}, pixels, source(), []Head{h})
	if err != nil {
		t.Fatal(err)
	}
	il := e.InputLen()
	batch := make([]float32, 2*il)
	batch[0] = 3e38 // the first image's pixels are huge
	c := color.NRGBA{R: 51, G: 102, B: 153}
	for p := il; p < 2*il; p += 3 {
		batch[p], batch[p+1], batch[p+2] = float32(c.R)/255, float32(c.G)/255, float32(c.B)/255
	}
	_, probs, rowErr, err := e.run(context.Background(), batch)
	if err != nil {
		t.Fatalf("the batch failed: %v", err)
	}
	if !errors.Is(rowErr[0], ErrNonFiniteEmbedding) {
		t.Errorf("the huge image: %v, want ErrNonFiniteEmbedding", rowErr[0])
	}
	if rowErr[1] != nil {
		t.Fatalf("the innocent image failed: %v", rowErr[1])
	}
	for k, p := range want(h, c) {
		if math.Abs(probs[0][1][k]-p) > 1e-6 {
			t.Errorf("innocent image class %d: %g, want %g", k, probs[0][1][k], p)
		}
	}
}

// TestSwapRefusesHeadThatOverflows: a head of finite but huge weights (1e308)
// gives NaN on the embeddings served; SIGHUP's Swap refuses it and the
// old head serves on.
func TestSwapRefusesHeadThatOverflows(t *testing.T) {
	e, err := NewEngine(&fakeBackbone{}, pixels, source(), []Head{testHead("pets", "cat", "dog")})
	if err != nil {
		t.Fatal(err)
	}
	batch := make([]float32, e.InputLen())
	for i := range batch {
		batch[i] = 0.5
	}
	if _, _, _, err := e.run(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	huge := testHead("pets", "cat", "dog")
	w := huge.Model.Layer.W
	r, cols := w.Dims()
	for i := 0; i < r; i++ {
		for j := 0; j < cols; j++ {
			w.Set(i, j, 1e308)
		}
	}
	if err := e.Swap([]Head{huge}); !errors.Is(err, head.ErrNonFiniteOutput) {
		t.Errorf("Swap of an overflowing head: %v, want ErrNonFiniteOutput", err)
	}
	if e.Heads()[0].Model.Layer.W.At(0, 0) == 1e308 {
		t.Error("the refused head serves")
	}
	if err := e.Swap([]Head{testHead("pets", "cat", "dog")}); err != nil {
		t.Errorf("a sound head was refused: %v", err)
	}
}

// TestAnswerThatCannotBeEncoded: a value JSON cannot hold (NaN) is a 500
// with the reason, never a 200 with an empty body.
func TestAnswerThatCannotBeEncoded(t *testing.T) {
	rec := httptest.NewRecorder()
	writeJSON(rec, http.StatusOK, map[string]float64{"p": math.NaN()})
	var e errorBody
	if json.Unmarshal(rec.Body.Bytes(), &e); rec.Code != 500 || !strings.Contains(e.Error, "could not be encoded") {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}

// TestBodyBudget: while bodies of MaxBodies bytes are being read, a
// further request is answered 503 before its body is read; once they are
// done it is served. A Content-Length over MaxBody is a 413 at once.
func TestBodyBudget(t *testing.T) {
	_, ts := newTestServer(t, &fakeBackbone{}, Options{MaxBody: 1 << 20, MaxBodies: 3 << 19})
	slow, w := io.Pipe()
	req, _ := http.NewRequest("POST", ts.URL+"/v1/classify", slow)
	req.ContentLength = 1 << 20 // reserved, then sent slowly
	req.Header.Set("Content-Type", "image/png")
	first := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	w.Write([]byte("\x89PNG")) // the body is being read: its bytes are held
	time.Sleep(50 * time.Millisecond)
	img := pngOf(color.NRGBA{R: 7})
	big := append(img, make([]byte, 600<<10)...) // a valid PNG, padded past the budget left
	resp, body := post(t, ts.URL+"/v1/classify", "image/png", big)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("over the body budget: %d %s", resp.StatusCode, body)
	}
	if resp, body := post(t, ts.URL+"/v1/classify", "image/png", img); resp.StatusCode != 200 {
		t.Errorf("a small body within the budget: %d %s", resp.StatusCode, body)
	}
	w.CloseWithError(io.ErrUnexpectedEOF) // the client gives up
	<-first
	// The server sees the connection end a moment later.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		resp, body := post(t, ts.URL+"/v1/classify", "image/png", big)
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the first body was released: %d %s", resp.StatusCode, body)
		}
	}
	req, _ = http.NewRequest("POST", ts.URL+"/v1/classify", strings.NewReader(""))
	req.ContentLength = 2 << 20
	req.Body = io.NopCloser(io.LimitReader(neverEnding{}, 2<<20))
	start := time.Now()
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 413 {
		t.Errorf("Content-Length over MaxBody: %v %v", resp, err)
	} else if time.Since(start) > 5*time.Second {
		t.Errorf("the 413 took %v", time.Since(start))
	}
}

type neverEnding struct{}

func (neverEnding) Read(p []byte) (int, error) { return len(p), nil }

// TestRunWaitsForTheBatch: Run returns only after the batch in progress
// has finished, even when its client has gone and ctx is cancelled, so
// that the session can be destroyed after Run without a batch under it
// (destroying it while ONNX Runtime ran crashed serve on SIGTERM).
func TestRunWaitsForTheBatch(t *testing.T) {
	fb := &fakeBackbone{block: make(chan struct{})}
	e, err := NewEngine(fb, pixels, source(), []Head{testHead("pets", "cat", "dog")})
	if err != nil {
		t.Fatal(err)
	}
	s := New(e, Options{MaxBatch: 1})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { s.Run(ctx); close(ran) }()
	<-s.Ready()
	ts := httptest.NewServer(s)
	defer ts.Close()
	reqCtx, giveUp := context.WithCancel(context.Background())
	go func() {
		req, _ := http.NewRequestWithContext(reqCtx, "POST", ts.URL+"/v1/classify", bytes.NewReader(pngOf(color.NRGBA{R: 3})))
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	for {
		fb.mu.Lock()
		started := fb.started
		fb.mu.Unlock()
		if started > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	giveUp() // the client goes away in the middle of its batch
	cancel() // and the server is told to stop
	select {
	case <-ran:
		t.Fatal("Run returned while a batch was running")
	case <-time.After(100 * time.Millisecond):
	}
	close(fb.block)
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the batch finished")
	}
}
