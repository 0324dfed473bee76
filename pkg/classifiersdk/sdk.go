// Package classifiersdk is what a classifier plugin is written with: a
// program SaaSLens starts (hashicorp/go-plugin over gRPC) and asks, in
// batches, which service each server name belongs to. A plugin's main is
//
//	func main() { classifiersdk.Serve(myClassifier{}) }
//
// where myClassifier implements Classifier. SaaSLens's side, which starts
// and asks plugins, is package classifierhost.
package classifiersdk

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-plugin"
	"github.com/saaslens/saaslens/pkg/classifiersdk/proto"
	"google.golang.org/grpc"
)

// Handshake is shared by SaaSLens and its plugins; ProtocolVersion
// changes with any incompatible change to the protocol, and a plugin built
// for another version is refused at start.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "SAASLENS_CLASSIFIER_PLUGIN",
	MagicCookieValue: "f3c1d0e4-saaslens-classifier",
}

// PluginName is the name of the one plugin a classifier binary serves.
const PluginName = "classifier"

// Result is a plugin's answer for one name.
type Result struct {
	// Known is false when the plugin has no answer for the name; the
	// contracts and the catalog then decide.
	Known    bool
	Vendor   string
	Product  string
	Category string
	// Kind is "saas" or "infra".
	Kind string
}

// Classifier is what a plugin implements.
type Classifier interface {
	// Describe names the plugin and its version: SaaSLens classifies
	// every stored name again when either changes.
	Describe() (name, version string)
	// Classify answers one result per name, in order. Batches hold up to
	// BatchSize names.
	Classify(ctx context.Context, names []string) ([]Result, error)
}

// BatchSize is the most names SaaSLens sends in one call.
const BatchSize = 512

// Serve runs impl as a plugin; it returns when SaaSLens ends the plugin.
// Run from a terminal rather than by SaaSLens, it says so and exits.
func Serve(impl Classifier) {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         plugin.PluginSet{PluginName: &GRPCPlugin{Impl: impl}},
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}

// GRPCPlugin is the protocol's go-plugin side: the plugin serves Impl,
// SaaSLens's host (without Impl) dispenses a proto.ClassifierClient.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Classifier
}

func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	proto.RegisterClassifierServer(s, &server{impl: p.Impl})
	return nil
}

func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return proto.NewClassifierClient(c), nil
}

type server struct {
	proto.UnimplementedClassifierServer
	impl Classifier
}

func (s *server) Describe(context.Context, *proto.DescribeRequest) (*proto.DescribeResponse, error) {
	name, version := s.impl.Describe()
	return &proto.DescribeResponse{Name: name, Version: version}, nil
}

func (s *server) Classify(ctx context.Context, req *proto.ClassifyRequest) (*proto.ClassifyResponse, error) {
	results, err := s.impl.Classify(ctx, req.Names)
	if err != nil {
		return nil, err
	}
	if len(results) != len(req.Names) {
		return nil, fmt.Errorf("classifier answered %d results for %d names", len(results), len(req.Names))
	}
	out := &proto.ClassifyResponse{Results: make([]*proto.Result, len(results))}
	for i, r := range results {
		out.Results[i] = &proto.Result{Known: r.Known, Vendor: r.Vendor, Product: r.Product, Category: r.Category, Kind: r.Kind}
	}
	return out, nil
}
