package serve

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestProtocolRoutes: every route of the REST protocol, versioned or not,
// answers; unknown versions, routes and methods are answered in JSON.
func TestProtocolRoutes(t *testing.T) {
	_, ts := newTestServer(t, &fakeBackbone{}, Options{Version: "v9"})
	png := base64.StdEncoding.EncodeToString(pngOf(color.NRGBA{R: 90}))
	infer := `{"inputs":[{"name":"images","datatype":"BYTES","shape":[1],"data":["` + png + `"]}]}`
	cases := []struct {
		method, path, body string
		code               int
		has                string // in the body
	}{
		{"GET", "/v2", "", 200, `"name": "transfer"`},
		{"GET", "/v2/", "", 200, `"binary_tensor_data"`},
		{"GET", "/v2/models/pets", "", 200, `"versions": [`},
		{"GET", "/v2/models/pets/versions/1", "", 200, `"name": "pets"`},
		{"GET", "/v2/models/pets/versions/2", "", 404, `no version \"2\"`},
		{"GET", "/v2/models/pets/versions/1/ready", "", 200, `"ready": true`},
		{"GET", "/v2/models/cats/ready", "", 404, `no model \"cats\"`},
		{"POST", "/v2/models/pets/versions/1/infer", infer, 200, `"model_version": "1"`},
		{"POST", "/v2/models/pets/versions/7/infer", infer, 404, `no version \"7\"`},
		{"POST", "/v2/repository/index", "", 200, `"state": "READY"`},
		{"GET", "/nowhere", "", 404, `"error": "no route GET /nowhere`},
		{"DELETE", "/v1/classify", "", 405, `"error": "DELETE is not allowed on /v1/classify; use POST"`},
		{"GET", "/v2/models/pets/infer", "", 405, `"error"`},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, ts.URL+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(body), tc.has) {
			t.Errorf("%s %s: %d %s\n%s\nwant %d with %s", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.code, tc.has)
		}
	}
	resp, _ := http.Get(ts.URL + "/metrics")
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, series := range []string{`route="unmatched"`, `code="404"`, `code="405"`} {
		if !strings.Contains(string(m), series) {
			t.Errorf("metrics lack %s", series)
		}
	}
}

// pixelsOf is a uniform image's FP32 pixels as the fake backbone takes
// them (Raw: value/255), NHWC.
func pixelsOf(c color.NRGBA) []float32 {
	var v []float32
	for i := 0; i < 64; i++ {
		v = append(v, float32(c.R)/255, float32(c.G)/255, float32(c.B)/255)
	}
	return v
}

// TestInferDataForms: nested data equals flat data; FP32 outputs carry
// float32 values (a float32 parses back to itself).
func TestInferDataForms(t *testing.T) {
	h := testHead("pets", "cat", "dog", "fish")
	_, ts := newTestServer(t, &fakeBackbone{}, Options{}, h)
	c := color.NRGBA{R: 10, G: 200, B: 90}
	flat := pixelsOf(c)
	nested := make([][][]float32, 8) // [8][8][3] of one image
	for y := range nested {
		nested[y] = make([][]float32, 8)
		for x := range nested[y] {
			nested[y][x] = flat[(y*8+x)*3 : (y*8+x)*3+3]
		}
	}
	var answers [][]float64
	for _, data := range []any{flat, [][][][]float32{nested}} {
		req, _ := json.Marshal(map[string]any{"inputs": []map[string]any{{"name": "pixels", "datatype": "FP32", "shape": []int{1, 8, 8, 3}, "data": data}}})
		resp, body := post(t, ts.URL+"/v2/models/pets/infer", "application/json", req)
		var got inferAnswer
		if json.Unmarshal(body, &got); resp.StatusCode != 200 || len(got.Outputs) != 1 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		for _, v := range got.Outputs[0].Data {
			if strconv.FormatFloat(float64(float32(v)), 'g', -1, 32) != strconv.FormatFloat(v, 'g', -1, 64) {
				t.Errorf("%v is not a float32", v)
			}
		}
		answers = append(answers, got.Outputs[0].Data)
	}
	if fmt.Sprint(answers[0]) != fmt.Sprint(answers[1]) {
		t.Errorf("flat %v, nested %v", answers[0], answers[1])
	}
	for j, p := range want(h, c) {
		if math.Abs(answers[0][j]-p) > 1e-6 {
			t.Errorf("class %d: %v, want %v", j, answers[0][j], p)
		}
	}
	for _, bad := range []string{`[[1,2],{"a":1}]`, `[1,"x"]`, `"text"`} {
		req := `{"inputs":[{"name":"pixels","datatype":"FP32","shape":[1,8,8,3],"data":` + bad + `}]}`
		if resp, body := post(t, ts.URL+"/v2/models/pets/infer", "application/json", []byte(req)); resp.StatusCode != 400 {
			t.Errorf("data %s: %d %s", bad, resp.StatusCode, body)
		}
	}
}

// binaryRequest builds a request of the binary tensor data extension:
// the JSON, then data; Inference-Header-Content-Length says where the
// JSON ends.
func binaryRequest(t *testing.T, url string, header any, data []byte) (*http.Response, []byte, []byte) {
	t.Helper()
	j, _ := json.Marshal(header)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(append(j, data...)))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set(headerLength, strconv.Itoa(len(j)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	n, err := strconv.Atoi(resp.Header.Get(headerLength))
	if err != nil || n > len(body) {
		return resp, body, nil
	}
	return resp, body[:n], body[n:]
}

// TestBinaryTensorData: BYTES and FP32 inputs as binary data, outputs as
// binary data (binary_data_output, or binary_data on one output), equal
// the JSON answers.
func TestBinaryTensorData(t *testing.T) {
	h := testHead("pets", "cat", "dog", "fish")
	_, ts := newTestServer(t, &fakeBackbone{}, Options{}, h)
	url := ts.URL + "/v2/models/pets/infer"
	colors := []color.NRGBA{{R: 200, G: 30, B: 60}, {G: 250}}
	var images, pixels []byte
	for _, c := range colors {
		png := pngOf(c)
		images = binary.LittleEndian.AppendUint32(images, uint32(len(png)))
		images = append(images, png...)
		pixels = appendFloat32s(pixels, pixelsOf(c))
	}
	for name, in := range map[string]struct {
		tensor map[string]any
		data   []byte
	}{
		"BYTES": {map[string]any{"name": "images", "datatype": "BYTES", "shape": []int{2, 1}, "parameters": map[string]any{"binary_data_size": len(images)}}, images},
		"FP32":  {map[string]any{"name": "pixels", "datatype": "FP32", "shape": []int{2, 8, 8, 3}, "parameters": map[string]any{"binary_data_size": len(pixels)}}, pixels},
	} {
		req := map[string]any{"inputs": []any{in.tensor}, "parameters": map[string]any{"binary_data_output": true}}
		resp, header, data := binaryRequest(t, url, req, in.data)
		var got inferAnswer
		if json.Unmarshal(header, &got); resp.StatusCode != 200 || len(got.Outputs) != 1 || resp.Header.Get("Content-Type") != "application/octet-stream" {
			t.Fatalf("%s: %d %s", name, resp.StatusCode, header)
		}
		o := got.Outputs[0]
		if o.Datatype != "FP32" || fmt.Sprint(o.Shape) != "[2 3]" || o.Parameters["binary_data_size"] != 24.0 || len(data) != 24 || o.Data != nil {
			t.Fatalf("%s: output %+v with %d bytes", name, o, len(data))
		}
		for i, c := range colors {
			for j, p := range want(h, c) {
				v := math.Float32frombits(binary.LittleEndian.Uint32(data[4*(i*3+j):]))
				if math.Abs(float64(v)-p) > 1e-6 {
					t.Errorf("%s image %d class %d: %v, want %v", name, i, j, v, p)
				}
			}
		}
	}
	// The top 2 as binary BYTES, the probabilities as JSON, in one answer.
	req := map[string]any{
		"inputs":  []any{map[string]any{"name": "images", "datatype": "BYTES", "shape": []int{2}, "parameters": map[string]any{"binary_data_size": len(images)}}},
		"outputs": []any{map[string]any{"name": "probabilities", "parameters": map[string]any{"classification": 2, "binary_data": true}}, map[string]any{"name": "probabilities"}},
	}
	resp, header, data := binaryRequest(t, url, req, images)
	var got inferAnswer
	if json.Unmarshal(header, &got); resp.StatusCode != 200 || len(got.Outputs) != 2 || got.Outputs[0].Datatype != "BYTES" || len(got.Outputs[1].Data) != 6 {
		t.Fatalf("%d %s", resp.StatusCode, header)
	}
	elems, err := binaryElements(data)
	if err != nil || len(elems) != 4 {
		t.Fatalf("classification bytes: %v, %d elements", err, len(elems))
	}
	exp := want(h, colors[0])
	best := 0
	for j := range exp {
		if exp[j] > exp[best] {
			best = j
		}
	}
	f := strings.SplitN(string(elems[0]), ":", 3)
	if score, _ := strconv.ParseFloat(f[0], 32); len(f) != 3 || f[1] != strconv.Itoa(best) || f[2] != h.Model.Classes[best] || math.Abs(score-exp[best]) > 1e-6 {
		t.Errorf("top of image 0: %q, want %v:%d:%s", elems[0], exp[best], best, h.Model.Classes[best])
	}

	for name, tc := range map[string]struct {
		size int
		data []byte
	}{
		"size over the data":  {len(images) + 1, images},
		"size under the data": {len(images) - 1, images},
		"cut inside a length": {len(images[:2]), images[:2]},
	} {
		req := map[string]any{"inputs": []any{map[string]any{"name": "images", "datatype": "BYTES", "shape": []int{2}, "parameters": map[string]any{"binary_data_size": tc.size}}}}
		if resp, header, _ := binaryRequest(t, url, req, tc.data); resp.StatusCode != 400 || !strings.Contains(string(header), "error") {
			t.Errorf("%s: %d %s", name, resp.StatusCode, header)
		}
	}
	raw, _ := http.NewRequest("POST", url, bytes.NewReader(pixels))
	raw.Header.Set(headerLength, "0")
	if resp, err := http.DefaultClient.Do(raw); err != nil || resp.StatusCode != 400 {
		t.Errorf("a raw binary request: %v %v", resp.Status, err)
	}
}

// TestClassificationExtension: "classification": k answers each image's
// top k as "score:index:label", best first, in JSON.
func TestClassificationExtension(t *testing.T) {
	h := testHead("pets", "cat", "dog", "fish")
	_, ts := newTestServer(t, &fakeBackbone{}, Options{}, h)
	c := color.NRGBA{R: 30, G: 60, B: 220}
	req, _ := json.Marshal(map[string]any{
		"inputs":  []map[string]any{{"name": "pixels", "datatype": "FP32", "shape": []int{1, 8, 8, 3}, "data": pixelsOf(c)}},
		"outputs": []map[string]any{{"name": "probabilities", "parameters": map[string]any{"classification": 5}}},
	})
	resp, body := post(t, ts.URL+"/v2/models/pets/infer", "application/json", req)
	var got struct {
		Outputs []struct {
			Datatype string   `json:"datatype"`
			Shape    []int64  `json:"shape"`
			Data     []string `json:"data"`
		} `json:"outputs"`
	}
	if json.Unmarshal(body, &got); resp.StatusCode != 200 || len(got.Outputs) != 1 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	o := got.Outputs[0]
	if o.Datatype != "BYTES" || fmt.Sprint(o.Shape) != "[1 3]" || len(o.Data) != 3 {
		t.Fatalf("output %+v (a count over the classes gives every class)", o)
	}
	exp := want(h, c)
	last := 2.0
	for _, e := range o.Data {
		f := strings.SplitN(e, ":", 3)
		score, _ := strconv.ParseFloat(f[0], 32)
		j, _ := strconv.Atoi(f[1])
		if len(f) != 3 || f[2] != h.Model.Classes[j] || math.Abs(score-exp[j]) > 1e-6 || score > last {
			t.Errorf("element %q (want scores %v, best first)", e, exp)
		}
		last = score
	}
	req = []byte(`{"inputs":[{"name":"pixels","datatype":"FP32","shape":[1,8,8,3],"data":[0]}],"outputs":[{"name":"probabilities","parameters":{"classification":0}}]}`)
	if resp, body := post(t, ts.URL+"/v2/models/pets/infer", "application/json", req); resp.StatusCode != 400 {
		t.Errorf("classification 0: %d %s", resp.StatusCode, body)
	}
}

// TestStatisticsExtension: after two good requests of 2 and 1 images and
// one bad one, a head's statistics count them as Triton's statistics
// extension has it: requests in success and fail, images in
// inference_count and queue, batches in execution_count and batch_stats.
func TestStatisticsExtension(t *testing.T) {
	h := testHead("pets", "cat", "dog", "fish")
	_, ts := newTestServer(t, &fakeBackbone{}, Options{MaxBatch: 1}, h)
	url := ts.URL + "/v2/models/pets/infer"
	c := color.NRGBA{R: 1, G: 2, B: 3}
	for _, n := range []int{2, 1} {
		var data []float32
		for range n {
			data = append(data, pixelsOf(c)...)
		}
		req, _ := json.Marshal(map[string]any{"inputs": []map[string]any{{"name": "pixels", "datatype": "FP32", "shape": []int{n, 8, 8, 3}, "data": data}}})
		if resp, body := post(t, url, "application/json", req); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	}
	post(t, url, "application/json", []byte(`{"inputs":[{"name":"images","datatype":"BYTES","shape":[1],"data":["bm90IGFuIGltYWdl"]}]}`))
	for _, path := range []string{"/v2/models/pets/stats", "/v2/models/pets/versions/1/stats", "/v2/models/stats"} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			ModelStats []ModelStats `json:"model_stats"`
		}
		json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(got.ModelStats) != 1 {
			t.Fatalf("%s: %d %+v", path, resp.StatusCode, got)
		}
		m := got.ModelStats[0]
		st := m.InferenceStats
		if m.Name != "pets" || m.Version != "1" || m.InferenceCount != 3 || m.ExecutionCount != 3 || m.LastInference == 0 ||
			st.Success.Count != 2 || st.Fail.Count != 1 || st.Queue.Count != 3 || st.ComputeInfer.Count != 3 || st.Success.Ns <= 0 ||
			len(m.BatchStats) != 1 || m.BatchStats[0].BatchSize != 1 || m.BatchStats[0].ComputeInfer.Count != 3 {
			t.Errorf("%s: %+v", path, m)
		}
	}
	if resp, _ := http.Get(ts.URL + "/v2/models/cats/stats"); resp.StatusCode != 404 {
		t.Errorf("stats of no model: %d", resp.StatusCode)
	}
}
