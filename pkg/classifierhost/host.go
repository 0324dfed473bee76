// Package classifierhost is SaaSLens's side of classifier plugins: it
// starts the binaries the settings allow (their checksum checked, with a
// minimal environment), asks them in batches with a deadline, and stops
// and restarts one that fails, while the caller falls back to the
// contracts and the catalog. Plugins are written with classifiersdk.
package classifierhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/saaslens/saaslens/pkg/classifiersdk"
	"github.com/saaslens/saaslens/pkg/classifiersdk/proto"
)

// Config is one plugin the settings allow to run.
type Config struct {
	// Path is the plugin binary's absolute path.
	Path string `json:"path"`
	// SHA256, when set, must be the binary's SHA-256 (hex) or it is not
	// started.
	SHA256 string `json:"sha256,omitempty"`
}

// Check names what is wrong with the configuration, if anything.
func (c Config) Check() error {
	switch {
	case !filepath.IsAbs(c.Path):
		return fmt.Errorf("classifier plugin %q: not an absolute path", c.Path)
	case c.SHA256 != "" && (len(c.SHA256) != 64 || strings.Trim(strings.ToLower(c.SHA256), "0123456789abcdef") != ""):
		return fmt.Errorf("classifier plugin %s: sha256 %q is not 64 hex digits", c.Path, c.SHA256)
	}
	return nil
}

// Plugin runs one plugin for SaaSLens. A plugin that crashes, hangs or
// answers nonsense never takes SaaSLens with it: each call has a deadline,
// a failed plugin is stopped and started again on a later call after a
// backoff that doubles up to MaxBackoff, and the caller falls back to the
// contracts and the catalog meanwhile.
type Plugin struct {
	cfg Config
	// CallTimeout bounds one batch; StartTimeout the plugin's start.
	CallTimeout, StartTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before a restart.
	MinBackoff, MaxBackoff time.Duration

	mu            sync.Mutex
	client        *plugin.Client
	rpc           proto.ClassifierClient
	name, version string
	failures      int
	retryAt       time.Time
	lastErr       error
	starts        int
}

// New returns a host for cfg; the plugin starts on first use.
func New(cfg Config) *Plugin {
	return &Plugin{cfg: cfg, CallTimeout: 5 * time.Second, StartTimeout: 10 * time.Second,
		MinBackoff: time.Second, MaxBackoff: time.Minute}
}

// pluginEnvironment is all a plugin inherits (go-plugin adds its
// handshake): the host runs inside Grafana, whose environment holds its
// secrets (GF_SECURITY_ADMIN_PASSWORD, GF_DATABASE_PASSWORD…), and a
// classifier needs none of them.
var pluginEnvironment = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}

// ErrChecksum is returned for a binary whose SHA-256 is not the one set.
var ErrChecksum = errors.New("checksum does not match")

func (h *Plugin) start() error {
	h.starts++
	var secure *plugin.SecureConfig
	if h.cfg.SHA256 != "" {
		// Checked here as well as by go-plugin, to name the mismatch.
		f, err := os.Open(h.cfg.Path)
		if err != nil {
			return err
		}
		sum := sha256.New()
		_, err = io.Copy(sum, f)
		f.Close()
		if err != nil {
			return err
		}
		if got := hex.EncodeToString(sum.Sum(nil)); got != strings.ToLower(h.cfg.SHA256) {
			return fmt.Errorf("%w: the binary's SHA-256 is %s, the settings want %s", ErrChecksum, got, strings.ToLower(h.cfg.SHA256))
		}
		want, _ := hex.DecodeString(h.cfg.SHA256)
		secure = &plugin.SecureConfig{Checksum: want, Hash: sha256.New()}
	}
	cmd := exec.Command(h.cfg.Path)
	cmd.Env = pluginEnvironment
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  classifiersdk.Handshake,
		Plugins:          plugin.PluginSet{classifiersdk.PluginName: &classifiersdk.GRPCPlugin{}},
		Cmd:              cmd,
		SkipHostEnv:      true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		SecureConfig:     secure,
		StartTimeout:     h.StartTimeout,
		Logger:           hclog.NewNullLogger(),
	})
	rpcClient, err := client.Client()
	if err != nil {
		client.Kill()
		return err
	}
	raw, err := rpcClient.Dispense(classifiersdk.PluginName)
	if err != nil {
		client.Kill()
		return err
	}
	rpc, ok := raw.(proto.ClassifierClient)
	if !ok {
		client.Kill()
		return errors.New("not a classifier plugin")
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.CallTimeout)
	defer cancel()
	d, err := rpc.Describe(ctx, &proto.DescribeRequest{})
	if err != nil {
		client.Kill()
		return fmt.Errorf("describe: %w", err)
	}
	h.client, h.rpc, h.name, h.version = client, rpc, d.Name, d.Version
	return nil
}

// ready starts the plugin if it is not running and its backoff is over.
func (h *Plugin) ready() error {
	if h.rpc != nil {
		if !h.client.Exited() {
			return nil
		}
		return h.fail(errors.New("the plugin process exited"))
	}
	if time.Now().Before(h.retryAt) {
		return fmt.Errorf("%w (down; next start after %s)", h.lastErr, h.retryAt.Format(time.TimeOnly))
	}
	if err := h.start(); err != nil {
		return h.fail(err)
	}
	return nil
}

// fail stops the plugin and schedules its restart.
func (h *Plugin) fail(err error) error {
	if h.client != nil {
		h.client.Kill()
	}
	h.client, h.rpc = nil, nil
	h.failures++
	backoff := h.MinBackoff << min(h.failures-1, 16)
	if backoff > h.MaxBackoff || backoff <= 0 {
		backoff = h.MaxBackoff
	}
	h.retryAt = time.Now().Add(backoff)
	h.lastErr = fmt.Errorf("classifier plugin %s: %w", h.cfg.Path, err)
	return h.lastErr
}

// Identity names the plugin for the classification fingerprint: its path,
// checksum, name and version as it says now (a plugin reading its own data
// changes version with it), or that it is down.
func (h *Plugin) Identity() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.ready(); err != nil {
		return h.cfg.Path + " down"
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.CallTimeout)
	defer cancel()
	d, err := h.rpc.Describe(ctx, &proto.DescribeRequest{})
	if err != nil {
		h.fail(fmt.Errorf("describe: %w", err))
		return h.cfg.Path + " down"
	}
	h.name, h.version = d.Name, d.Version
	return strings.Join([]string{h.cfg.Path, h.cfg.SHA256, h.name, h.version}, " ")
}

// Classify asks the plugin about names, in batches of classifiersdk.BatchSize.
func (h *Plugin) Classify(ctx context.Context, names []string) ([]classifiersdk.Result, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.ready(); err != nil {
		return nil, err
	}
	out := make([]classifiersdk.Result, 0, len(names))
	for start := 0; start < len(names); start += classifiersdk.BatchSize {
		batch := names[start:min(start+classifiersdk.BatchSize, len(names))]
		cctx, cancel := context.WithTimeout(ctx, h.CallTimeout)
		resp, err := h.rpc.Classify(cctx, &proto.ClassifyRequest{Names: batch})
		cancel()
		if err == nil && len(resp.Results) != len(batch) {
			err = fmt.Errorf("answered %d results for %d names", len(resp.Results), len(batch))
		}
		if err != nil {
			return nil, h.fail(err)
		}
		for _, r := range resp.Results {
			out = append(out, classifiersdk.Result{Known: r.Known, Vendor: r.Vendor, Product: r.Product, Category: r.Category, Kind: r.Kind})
		}
	}
	h.failures = 0
	return out, nil
}

// Status is what a health check says of a plugin.
type Status struct {
	Path      string `json:"path"`
	Name      string `json:"name,omitempty"`
	Version   string `json:"version,omitempty"`
	Running   bool   `json:"running"`
	Starts    int    `json:"starts"`
	LastError string `json:"lastError,omitempty"`
}

// Status reports the plugin's state.
func (h *Plugin) Status() Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := Status{Path: h.cfg.Path, Name: h.name, Version: h.version, Running: h.rpc != nil && !h.client.Exited(), Starts: h.starts}
	if h.lastErr != nil && h.failures > 0 {
		st.LastError = h.lastErr.Error()
	}
	return st
}

// Close stops the plugin.
func (h *Plugin) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.client != nil {
		h.client.Kill()
	}
	h.client, h.rpc = nil, nil
}
