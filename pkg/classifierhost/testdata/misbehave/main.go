// Command misbehave is a classifier plugin for the host's tests: it
// answers known.test, exits on crash.test, hangs on hang.test, answers
// too few results for short.test, and gives its environment as the
// product of env.test.
package main

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/saaslens/saaslens/pkg/classifiersdk"
)

type misbehave struct{}

func (misbehave) Describe() (string, string) { return "misbehave", "7" }

func (misbehave) Classify(ctx context.Context, names []string) ([]classifiersdk.Result, error) {
	out := make([]classifiersdk.Result, len(names))
	for i, n := range names {
		switch n {
		case "crash.test":
			os.Exit(3)
		case "hang.test":
			select {
			case <-ctx.Done():
			case <-time.After(time.Hour):
			}
			return nil, ctx.Err()
		case "short.test":
			return out[:i], nil
		case "env.test":
			out[i] = classifiersdk.Result{Known: true, Vendor: "Environment", Product: strings.Join(os.Environ(), "\n"), Category: "other", Kind: "infra"}
		case "known.test":
			out[i] = classifiersdk.Result{Known: true, Vendor: "Test Vendor", Product: "Test", Category: "chat", Kind: "saas"}
		}
	}
	return out, nil
}

func main() { classifiersdk.Serve(misbehave{}) }
