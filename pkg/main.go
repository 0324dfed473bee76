// The SaaSLens Grafana datasource plugin binary: Grafana starts it and
// talks to it over gRPC (hashicorp/go-plugin).
package main

import (
	"os"
	_ "time/tzdata" // time zones without the host's zoneinfo (static builds, minimal images)

	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/saaslens/saaslens/pkg/plugin"
)

func main() {
	if err := datasource.Manage(plugin.ID, plugin.NewDatasource, datasource.ManageOpts{}); err != nil {
		log.DefaultLogger.Error(err.Error())
		os.Exit(1)
	}
}
