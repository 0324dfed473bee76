package classifierhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/saaslens/saaslens/pkg/classifiersdk"
)

var (
	buildOnce sync.Once
	misbehave string
	buildErr  error
)

// misbehaveBinary builds the test plugin once.
func misbehaveBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "misbehave")
		if err != nil {
			buildErr = err
			return
		}
		misbehave = filepath.Join(dir, "misbehave")
		out, err := exec.Command("go", "build", "-o", misbehave, "./testdata/misbehave").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return misbehave
}

func quickPlugin(t *testing.T, cfg Config) *Plugin {
	t.Helper()
	h := New(cfg)
	h.CallTimeout, h.MinBackoff, h.MaxBackoff = 500*time.Millisecond, 100*time.Millisecond, 400*time.Millisecond
	t.Cleanup(h.Close)
	return h
}

func TestPluginClassifies(t *testing.T) {
	h := quickPlugin(t, Config{Path: misbehaveBinary(t)})
	got, err := h.Classify(context.Background(), []string{"known.test", "other.example"})
	if err != nil {
		t.Fatal(err)
	}
	want := []classifiersdk.Result{{Known: true, Vendor: "Test Vendor", Product: "Test", Category: "chat", Kind: "saas"}, {}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if id := h.Identity(); id != misbehaveBinary(t)+"  misbehave 7" {
		t.Errorf("identity %q", id)
	}
	// More names than a batch go in several calls, answers in order.
	names := make([]string, classifiersdk.BatchSize*2+3)
	for i := range names {
		names[i] = "n.example"
	}
	names[classifiersdk.BatchSize+1] = "known.test"
	got, err = h.Classify(context.Background(), names)
	if err != nil || len(got) != len(names) || !got[classifiersdk.BatchSize+1].Known || got[classifiersdk.BatchSize].Known {
		t.Errorf("batched: %d results, %v", len(got), err)
	}
}

// A plugin that crashes, hangs or answers short is stopped, reported, and
// started again after its backoff.
func TestPluginSurvivesMisbehaviour(t *testing.T) {
	h := quickPlugin(t, Config{Path: misbehaveBinary(t)})
	for _, bad := range []string{"crash.test", "hang.test", "short.test"} {
		start := time.Now()
		_, err := h.Classify(context.Background(), []string{"known.test", bad})
		if err == nil || !strings.HasPrefix(err.Error(), "classifier plugin "+misbehaveBinary(t)+": ") {
			t.Fatalf("%s: %v", bad, err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("%s: took %s, more than the call timeout allows", bad, took)
		}
		if st := h.Status(); st.Running || st.LastError == "" {
			t.Errorf("%s: status %+v", bad, st)
		}
		// Within the backoff it does not start again...
		if _, err := h.Classify(context.Background(), []string{"known.test"}); err == nil || !strings.Contains(err.Error(), "(down; next start after ") {
			t.Errorf("%s: during the backoff: %v", bad, err)
		}
		// ...and after it, it does.
		time.Sleep(h.MaxBackoff + 50*time.Millisecond)
		got, err := h.Classify(context.Background(), []string{"known.test"})
		if err != nil || !got[0].Known {
			t.Fatalf("%s: after the backoff: %v, %v", bad, got, err)
		}
	}
	if st := h.Status(); !st.Running || st.Starts != 4 || st.LastError != "" {
		t.Errorf("final status %+v, want running after 4 starts", st)
	}
}

func TestPluginRefusesAWrongChecksum(t *testing.T) {
	bin := misbehaveBinary(t)
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	good := hex.EncodeToString(sum[:])
	bad := strings.Repeat("0", 64)
	h := quickPlugin(t, Config{Path: bin, SHA256: bad})
	_, err = h.Classify(context.Background(), []string{"known.test"})
	if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "the binary's SHA-256 is "+good+", the settings want "+bad) {
		t.Errorf("wrong checksum: %v", err)
	}
	if st := h.Status(); st.Running {
		t.Error("a binary with the wrong checksum runs")
	}
	h = quickPlugin(t, Config{Path: bin, SHA256: strings.ToUpper(good)})
	if got, err := h.Classify(context.Background(), []string{"known.test"}); err != nil || !got[0].Known {
		t.Errorf("right checksum: %v %v", got, err)
	}
}

func TestPluginConfigCheck(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Path: "plugin"}, `classifier plugin "plugin": not an absolute path`},
		{Config{Path: "/p", SHA256: "abc"}, `classifier plugin /p: sha256 "abc" is not 64 hex digits`},
		{Config{Path: "/p", SHA256: strings.Repeat("g", 64)}, `classifier plugin /p: sha256 "` + strings.Repeat("g", 64) + `" is not 64 hex digits`},
	} {
		if err := c.cfg.Check(); err == nil || err.Error() != c.want {
			t.Errorf("%+v: %v, want %s", c.cfg, err, c.want)
		}
	}
	if err := (Config{Path: "/p", SHA256: strings.Repeat("a", 64)}).Check(); err != nil {
		t.Error(err)
	}
}

// A plugin inherits nothing of the host's environment (Grafana's holds
// its secrets): PATH, and what go-plugin's handshake sets.
func TestPluginGetsAMinimalEnvironment(t *testing.T) {
	t.Setenv("GF_SECURITY_ADMIN_PASSWORD", "secret")
	h := quickPlugin(t, Config{Path: misbehaveBinary(t)})
	got, err := h.Classify(context.Background(), []string{"env.test"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, kv := range strings.Split(got[0].Product, "\n") {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "PLUGIN_") {
			names = append(names, name)
		}
	}
	want := []string{classifiersdk.Handshake.MagicCookieKey, "PATH"}
	sort.Strings(want)
	sort.Strings(names)
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("the plugin's environment, less go-plugin's PLUGIN_ variables (-want +got):\n%s", diff)
	}
}
