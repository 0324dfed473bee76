// Package grafanahost runs the built plugin binary the way Grafana does —
// a subprocess started through hashicorp/go-plugin with the SDK's
// handshake, spoken to over gRPC — and loads the provisioning files and
// dashboards Grafana would. The integration tests and the demo command
// stand on it, since no Grafana server can be installed where they run.
package grafanahost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/grpcplugin"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
)

// Build compiles the plugin binary of the repository at root into out, as
// the SDK's mage build does (no cgo, the SDK's arrow tag).
func Build(root, out string) error {
	cmd := exec.Command("go", "build", "-tags", "arrow_json_stdlib", "-o", out, "./pkg")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the plugin: %w\n%s", err, b)
	}
	return nil
}

// Host is a running plugin process.
type Host struct {
	client *goplugin.Client
	data   grpcplugin.DataClient
	diag   grpcplugin.DiagnosticsClient
	res    grpcplugin.ResourceClient
}

// Start launches the plugin binary with env added to this process's
// environment; its log goes to logs.
func Start(binary string, env []string, logs io.Writer) (*Host, error) {
	cmd := exec.Command(binary)
	cmd.Env = append(os.Environ(), env...)
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig: goplugin.HandshakeConfig{
			ProtocolVersion:  grpcplugin.ProtocolVersion,
			MagicCookieKey:   grpcplugin.MagicCookieKey,
			MagicCookieValue: grpcplugin.MagicCookieValue,
		},
		VersionedPlugins: map[int]goplugin.PluginSet{
			grpcplugin.ProtocolVersion: {
				"diagnostics": &grpcplugin.DiagnosticsGRPCPlugin{},
				"resource":    &grpcplugin.ResourceGRPCPlugin{},
				"data":        &grpcplugin.DataGRPCPlugin{},
			},
		},
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Logger:           hclog.New(&hclog.LoggerOptions{Name: filepath.Base(binary), Output: logs, Level: hclog.Warn}),
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	h := &Host{client: client}
	for name, into := range map[string]any{"data": &h.data, "diagnostics": &h.diag, "resource": &h.res} {
		raw, err := rpc.Dispense(name)
		if err != nil {
			client.Kill()
			return nil, fmt.Errorf("plugin %s: %w", name, err)
		}
		switch p := into.(type) {
		case *grpcplugin.DataClient:
			*p = raw.(grpcplugin.DataClient)
		case *grpcplugin.DiagnosticsClient:
			*p = raw.(grpcplugin.DiagnosticsClient)
		case *grpcplugin.ResourceClient:
			*p = raw.(grpcplugin.ResourceClient)
		}
	}
	return h, nil
}

// Close ends the plugin process as Grafana does on shutdown.
func (h *Host) Close() { h.client.Kill() }

// Exited tells whether the plugin process has ended (crashed).
func (h *Host) Exited() bool { return h.client.Exited() }

// CheckHealth is the datasource's "Save & test".
func (h *Host) CheckHealth(ctx context.Context, pc backend.PluginContext) (*backend.CheckHealthResult, error) {
	resp, err := h.diag.CheckHealth(ctx, &pluginv2.CheckHealthRequest{PluginContext: backend.ToProto().PluginContext(pc)})
	if err != nil {
		return nil, err
	}
	return backend.FromProto().CheckHealthResponse(resp), nil
}

// QueryData runs panel queries.
func (h *Host) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	resp, err := h.data.QueryData(ctx, backend.ToProto().QueryDataRequest(req))
	if err != nil {
		return nil, err
	}
	return backend.FromProto().QueryDataResponse(resp)
}

// CallResource calls a resource and gathers its streamed response.
func (h *Host) CallResource(ctx context.Context, req *backend.CallResourceRequest) (*backend.CallResourceResponse, error) {
	stream, err := h.res.CallResource(ctx, backend.ToProto().CallResourceRequest(req))
	if err != nil {
		return nil, err
	}
	var out *backend.CallResourceResponse
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		part := backend.FromProto().CallResourceResponse(msg)
		if out == nil {
			out = part
		} else {
			out.Body = append(out.Body, part.Body...)
		}
	}
	if out == nil {
		return nil, errors.New("empty resource response")
	}
	return out, nil
}
