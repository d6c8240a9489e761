package serve

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/transfer-go/transfer/internal/fixture/ortest"
)

// restSpec loads KServe's rest_predict_v2.yaml from ../shared, or skips.
// Its paths spell parameters "${NAME}"; OpenAPI routers take "{NAME}".
func restSpec(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	shared := ortest.FindShared()
	if shared == "" {
		t.Skip("../shared is absent: it holds the protocol's rest_predict_v2.yaml; skipping")
	}
	b, err := os.ReadFile(filepath.Join(shared, "specs", "open-inference-protocol", "rest_predict_v2.yaml"))
	if err != nil {
		t.Skipf("the protocol's spec: %v; skipping", err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(bytes.ReplaceAll(b, []byte("${"), []byte("{")))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc, router
}

// specPath is the spec's route for path: it names model routes with a
// version, and the server metadata as /v2/.
func specPath(path string) string {
	if path == "/v2" {
		return "/v2/"
	}
	if rest, ok := strings.CutPrefix(path, "/v2/models/"); ok && !strings.Contains(rest, "/versions/") {
		name, tail, _ := strings.Cut(rest, "/")
		if tail != "" {
			tail = "/" + tail
		}
		return "/v2/models/" + name + "/versions/1" + tail
	}
	return path
}

// TestRESTAgainstSpec validates every answer of the protocol's routes,
// successes and errors, against rest_predict_v2.yaml (with kin-openapi):
// statuses the spec lists by their schema, the others' bodies as the
// spec's error object. A binary answer's JSON header is validated as the
// JSON answer it stands for.
func TestRESTAgainstSpec(t *testing.T) {
	doc, router := restSpec(t)
	errSchema := doc.Components.Schemas["inference_error_response"].Value
	fb := &fakeBackbone{}
	_, ts := newTestServer(t, fb, Options{Version: "1.2.3", MaxImages: 4})
	png := base64.StdEncoding.EncodeToString(pngOf(color.NRGBA{R: 90}))
	images := `{"id":"7","inputs":[{"name":"images","datatype":"BYTES","shape":[1],"data":["` + png + `"]}]}`
	pixels, _ := json.Marshal(map[string]any{"inputs": []map[string]any{{"name": "pixels", "datatype": "FP32", "shape": []int{1, 8, 8, 3}, "data": pixelsOf(color.NRGBA{B: 9})}},
		"outputs": []map[string]any{{"name": "probabilities"}, {"name": "probabilities", "parameters": map[string]any{"classification": 2}}}})
	binPixels := appendFloat32s(nil, pixelsOf(color.NRGBA{G: 40}))
	binHeader, _ := json.Marshal(map[string]any{"inputs": []map[string]any{{"name": "pixels", "datatype": "FP32", "shape": []int{1, 8, 8, 3}, "parameters": map[string]any{"binary_data_size": len(binPixels)}}},
		"parameters": map[string]any{"binary_data_output": true}})
	type call struct {
		method, path, body string
		header             int // Inference-Header-Content-Length, or 0
		code               int
	}
	calls := []call{
		{"GET", "/v2/health/live", "", 0, 200},
		{"GET", "/v2/health/ready", "", 0, 200},
		{"GET", "/v2", "", 0, 200},
		{"GET", "/v2/", "", 0, 200},
		{"GET", "/v2/models/pets", "", 0, 200},
		{"GET", "/v2/models/pets/versions/1", "", 0, 200},
		{"GET", "/v2/models/pets/versions/3", "", 0, 404},
		{"GET", "/v2/models/nobody", "", 0, 404},
		{"GET", "/v2/models/pets/ready", "", 0, 200},
		{"GET", "/v2/models/pets/versions/1/ready", "", 0, 200},
		{"GET", "/v2/models/nobody/versions/1/ready", "", 0, 404},
		{"POST", "/v2/models/pets/infer", images, 0, 200},
		{"POST", "/v2/models/pets/versions/1/infer", string(pixels), 0, 200},
		{"POST", "/v2/models/pets/infer", string(binHeader) + string(binPixels), len(binHeader), 200},
		{"POST", "/v2/models/pets/infer", "{", 0, 400},
		{"POST", "/v2/models/pets/infer", `{"inputs":[{"name":"images","datatype":"INT8","shape":[1],"data":[1]}]}`, 0, 400},
		{"POST", "/v2/models/pets/infer", `{"inputs":[{"name":"images","datatype":"BYTES","shape":[1],"data":["` + base64.StdEncoding.EncodeToString([]byte("not an image")) + `"]}]}`, 0, 400},
		{"POST", "/v2/models/pets/infer", `{"inputs":[{"name":"images","datatype":"BYTES","shape":[9],"data":["a"]}]}`, 0, 400},
		{"POST", "/v2/models/pets/infer", images[:len(images)-2] + `],"outputs":[{"name":"logits"}]}`, 0, 400},
		{"POST", "/v2/models/nobody/infer", images, 0, 404},
		{"POST", "/v2/models/pets/versions/2/infer", images, 0, 404},
		{"POST", "/v2/models/pets/infer", string(binHeader) + string(binPixels[:9]), len(binHeader), 400},
	}
	for _, c := range calls {
		req, _ := http.NewRequest(c.method, ts.URL+c.path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		if c.header != 0 {
			req.Header.Set(headerLength, strconv.Itoa(c.header))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code {
			t.Errorf("%s %s: %d, want %d\n%s", c.method, c.path, resp.StatusCode, c.code, body)
			continue
		}
		if n, err := strconv.Atoi(resp.Header.Get(headerLength)); err == nil {
			body = asJSON(t, body[:n], body[n:])
			resp.Header.Set("Content-Type", "application/json")
		}
		if err := scalarParameters(body); err != nil {
			t.Errorf("%s %s: %v\n%s", c.method, c.path, err, body)
		}
		specReq, _ := http.NewRequest(c.method, ts.URL+specPath(c.path), strings.NewReader(c.body))
		route, params, err := router.FindRoute(specReq)
		if err != nil {
			t.Fatalf("%s %s: the spec has no route: %v", c.method, specPath(c.path), err)
		}
		in := &openapi3filter.RequestValidationInput{Request: specReq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{IncludeResponseStatus: true, ExcludeRequestBody: true}}
		if route.Operation.Responses.Status(resp.StatusCode) == nil {
			// A status the spec does not list (404): its body must be
			// the spec's error object.
			var v any
			if err := json.Unmarshal(body, &v); err != nil {
				t.Errorf("%s %s: %d is not JSON: %s", c.method, c.path, resp.StatusCode, body)
			} else if err := errSchema.VisitJSON(v); err != nil {
				t.Errorf("%s %s: %d: %v\n%s", c.method, c.path, resp.StatusCode, err, body)
			}
			continue
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: in.Options}
		out.SetBodyBytes(body)
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Errorf("%s %s: %d: %v\n%s", c.method, c.path, resp.StatusCode, err, body)
		}
	}
}

// asJSON turns a binary answer into the JSON answer it stands for: each
// output's binary data put back as its "data".
func asJSON(t *testing.T, header, data []byte) []byte {
	t.Helper()
	var resp map[string]any
	if err := json.Unmarshal(header, &resp); err != nil {
		t.Fatalf("the binary answer's header: %v", err)
	}
	outs, _ := resp["outputs"].([]any)
	for _, o := range outs {
		o := o.(map[string]any)
		params, _ := o["parameters"].(map[string]any)
		size, ok := params["binary_data_size"].(float64)
		if !ok || int(size) > len(data) {
			t.Fatalf("output %v: no binary_data_size within the %d bytes", o, len(data))
		}
		b := data[:int(size)]
		data = data[int(size):]
		switch o["datatype"] {
		case "FP32":
			v, err := binaryNumbers(b, 32)
			if err != nil {
				t.Fatal(err)
			}
			o["data"] = v
		case "BYTES":
			elems, err := binaryElements(b)
			if err != nil {
				t.Fatal(err)
			}
			var v []string
			for _, e := range elems {
				v = append(v, string(e))
			}
			o["data"] = v
		}
	}
	if len(data) != 0 {
		t.Fatalf("%d bytes after the outputs' binary data", len(data))
	}
	b, _ := json.Marshal(resp)
	return b
}

// scalarParameters checks that every "parameters" object of a JSON answer
// holds only strings, numbers and booleans, as required_api.md has it
// (the yaml leaves parameters open).
func scalarParameters(body []byte) error {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	var walk func(v any) error
	walk = func(v any) error {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if p, ok := x.(map[string]any); ok && k == "parameters" {
					for name, value := range p {
						switch value.(type) {
						case string, float64, bool:
						default:
							return fmt.Errorf("parameter %q is %T, not a string, number or boolean", name, value)
						}
					}
				}
				if err := walk(x); err != nil {
					return err
				}
			}
		case []any:
			for _, x := range v {
				if err := walk(x); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(v)
}
