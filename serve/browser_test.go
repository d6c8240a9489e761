package serve

import (
	"context"
	"encoding/json"
	"image/color"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser finds a Chromium or Chrome to drive, or "".
func browser() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestBrowserPage opens / in a real headless Chromium, uploads a photo
// through the page's file input, and reads the bars the page draws: their
// classes and probabilities are /v1/classify's. The screenshot is kept in
// the test's temp dir (BROWSER_SCREENSHOT=path keeps a copy).
func TestBrowserPage(t *testing.T) {
	exe := browser()
	if exe == "" {
		t.Skip("no chromium or chrome on PATH (Debian: apt-get install chromium)")
	}
	h := testHead("pets", "cat", "dog", "fish")
	_, ts := newTestServer(t, &fakeBackbone{}, Options{}, h)
	dir := t.TempDir()
	photo := filepath.Join(dir, "cat.png")
	c := color.NRGBA{R: 180, G: 120, B: 60}
	if err := os.WriteFile(photo, pngOf(c), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := "../../shared/data/cats/f01.jpg"; fileExists(p) {
		photo, _ = filepath.Abs(p)
	}

	bars, shot, err := drive(exe, ts.URL, photo)
	if err != nil {
		// A browser that fails to start or crashes on a loaded machine
		// gets one more try; the page itself is what is under test.
		t.Logf("first browser run: %v; trying once more", err)
		bars, shot, err = drive(exe, ts.URL, photo)
	}
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "page.png"), shot, 0o644)
	if p := os.Getenv("BROWSER_SCREENSHOT"); p != "" {
		os.WriteFile(p, shot, 0o644)
	}

	// What /v1/classify says of the same file.
	data, _ := os.ReadFile(photo)
	resp, body := post(t, ts.URL+"/v1/classify?k=5", "application/octet-stream", data)
	var want ClassifyResponse
	if err := json.Unmarshal(body, &want); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	top := want.Results[0].Heads[0].Top
	if len(bars) != len(top) {
		t.Fatalf("the page drew %d bars, /v1/classify gives %d classes", len(bars), len(top))
	}
	for i, b := range bars {
		p, _ := strconv.ParseFloat(b.AttributeValue("data-probability"), 64)
		if b.AttributeValue("data-class") != top[i].Class || math.Abs(p-top[i].Probability) > 1e-12 {
			t.Errorf("bar %d: %s %v, want %s %v", i, b.AttributeValue("data-class"), p, top[i].Class, top[i].Probability)
		}
	}
	if len(shot) < 1000 {
		t.Errorf("screenshot of %d bytes", len(shot))
	}
}

// drive opens the page in a fresh headless browser, uploads photo and
// returns the bars drawn and a screenshot.
func drive(exe, url, photo string) ([]*chromedp.Node, []byte, error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Flag("headless", "new"))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	err := chromedp.Do(ctx,
		chromedp.Navigate(url+"/"),
		chromedp.WaitReady(chromedp.ID("pick")),
		chromedp.SetUploadFiles(chromedp.ID("pick"), []string{photo}),
		chromedp.WaitVisible(chromedp.CSS(".bar")),
	)
	if err != nil {
		return nil, nil, err
	}
	bars, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll(".bar")))
	if err != nil {
		return nil, nil, err
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	return bars, shot, err
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
