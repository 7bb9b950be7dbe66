package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// findChromium locates a Chromium the way the README says to install one:
// $CHROME_PATH if set, else Debian's chromium package (apt-get install -y
// chromium) on PATH or at /usr/bin/chromium.
func findChromium() (string, error) {
	if p := os.Getenv("CHROME_PATH"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", errors.New("CHROME_PATH: " + err.Error())
		}
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	return "", errors.New("no chromium on PATH, no /usr/bin/chromium, CHROME_PATH not set")
}

// TestAdminInBrowser is the admin used as a person uses it: headless
// Chromium signs in through the Go login page, opens the admin, adds a note
// through the admin's form (its CSRF token and cookie included, as a
// browser sends them), finds it in the change list, and takes a
// screenshot.
func TestAdminInBrowser(t *testing.T) {
	chrome, err := findChromium()
	if err != nil {
		if os.Getenv("GOWSGI_REQUIRE_BROWSER") != "" {
			t.Fatalf("chromium not found, and GOWSGI_REQUIRE_BROWSER is set (as CI sets it): %v", err)
		}
		t.Skipf("chromium not found: install it with apt-get install -y chromium (see README): %v", err)
	}
	base := site(t)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], // headless, no first run, no background networking, …
		chromedp.ExecPath(chrome),
		chromedp.NoSandbox, // tests often run as root (CI containers), where the sandbox cannot start
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), // small /dev/shm in containers
		chromedp.NoFirstRun,
		chromedp.UserDataDir(profileDir(t)),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	// chromedp pins an older DevTools protocol (its newer releases need a
	// newer go directive than this module's), so a current Chromium sends
	// events with enum values it does not know; it drops those events,
	// which this test does not use. Count them instead of logging each.
	var dropped atomic.Int64
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithErrorf(func(format string, args ...any) {
		if strings.HasPrefix(format, "could not unmarshal event") {
			dropped.Add(1)
			return
		}
		t.Logf("chromedp: "+format, args...)
	}))
	defer cancelBrowser()
	defer func() {
		if n := dropped.Load(); n > 0 {
			t.Logf("chromedp dropped %d DevTools events it could not decode (newer protocol than it knows)", n)
		}
	}()

	step := func(name string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(bctx, actions...); err != nil {
			var loc string
			chromedp.Run(bctx, chromedp.Location(&loc))
			t.Fatalf("%s: %v (browser at %s)", name, err, loc)
		}
	}

	// Signed out, the admin sends the browser to Go's login page.
	var loc string
	step("open the admin", chromedp.Navigate(base+"/admin/"), chromedp.WaitVisible("#username", chromedp.ByID), chromedp.Location(&loc))
	if !strings.HasPrefix(loc, base+"/login?next=") {
		t.Fatalf("signed out, /admin/ led to %s, want the Go login page", loc)
	}

	step("sign in with a wrong password",
		chromedp.SendKeys("#username", adminUser, chromedp.ByID),
		chromedp.SendKeys("#password", "not-the-password", chromedp.ByID),
		chromedp.Click("#signin", chromedp.ByID),
		chromedp.WaitVisible("#error", chromedp.ByID))

	var welcome, headerColor string
	step("sign in",
		chromedp.SetValue("#password", "", chromedp.ByID),
		chromedp.SendKeys("#password", adminPassword, chromedp.ByID),
		chromedp.Click("#signin", chromedp.ByID),
		chromedp.WaitVisible("#site-name", chromedp.ByID),
		chromedp.Location(&loc),
		chromedp.Text("#user-tools", &welcome, chromedp.ByID),
		// The admin's CSS came from Go's static file server (once it has
		// loaded: the DOM can be ready before the stylesheets).
		waitFor(10*time.Second, `document.readyState === "complete" &&
			getComputedStyle(document.getElementById("header")).backgroundColor !== "rgba(0, 0, 0, 0)"`),
		chromedp.Evaluate(`getComputedStyle(document.getElementById("header")).backgroundColor`, &headerColor))
	if loc != base+"/admin/" {
		t.Errorf("after signing in the browser is at %s, want %s/admin/", loc, base)
	}
	// (The admin's CSS shows the user tools in capitals, and Text reads
	// the rendered text.)
	if !strings.Contains(strings.ToLower(welcome), adminUser) {
		t.Errorf("Django does not know the user Go signed in: user tools say %q", welcome)
	}
	if headerColor == "" || headerColor == "rgba(0, 0, 0, 0)" {
		t.Errorf("the admin header has no background (%q): static CSS not served", headerColor)
	}

	title := "Note from Chromium " + randomString()[:6]
	var list, message string
	step("add a note through the admin form",
		chromedp.Click(`a[href="/admin/notes/note/add/"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#id_title", chromedp.ByID),
		chromedp.SendKeys("#id_title", title, chromedp.ByID),
		chromedp.SendKeys("#id_body", "Written by a headless browser, saved by Django, served by Go.", chromedp.ByID),
		chromedp.Click(`input[name="_save"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#result_list", chromedp.ByID),
		chromedp.Location(&loc),
		chromedp.Text("#result_list", &list, chromedp.ByID),
		chromedp.Text(".messagelist", &message, chromedp.ByQuery))
	if loc != base+"/admin/notes/note/" {
		t.Errorf("after saving the browser is at %s, want the change list", loc)
	}
	if !strings.Contains(list, title) {
		t.Errorf("the change list lacks %q:\n%s", title, list)
	}
	if !strings.Contains(message, "was added successfully") {
		t.Errorf("no success message: %q", message)
	}

	var png []byte
	step("screenshot", chromedp.FullScreenshot(&png, 100))
	shot := filepath.Join(t.TempDir(), "admin.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", shot, len(png))
	// A copy that outlives the test's temp dir, to look at afterwards.
	keep := filepath.Join(os.TempDir(), "gowsgi-screenshots", "django-admin.png")
	if err := os.MkdirAll(filepath.Dir(keep), 0o755); err == nil && os.WriteFile(keep, png, 0o644) == nil {
		t.Logf("screenshot kept at %s", keep)
	}
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Errorf("the screenshot is not a PNG")
	}
}

// profileDir is a fresh Chromium profile, removed after the test. Not
// t.TempDir: Chromium's helper processes may still write to it for a moment
// after the browser is stopped, which fails TempDir's cleanup.
func profileDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "gowsgi-chromium-profile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := 0; i < 50; i++ {
			if os.RemoveAll(dir) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("could not remove the Chromium profile %s", dir)
	})
	return dir
}

// waitFor polls a JavaScript condition until it is true or d has passed
// (then the test's checks tell what is missing).
func waitFor(d time.Duration, cond string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		deadline := time.Now().Add(d)
		for {
			var ok bool
			if err := chromedp.Evaluate(cond, &ok).Do(ctx); err != nil {
				return err
			}
			if ok || time.Now().After(deadline) {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}
