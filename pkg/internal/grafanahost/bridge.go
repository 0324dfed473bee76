package grafanahost

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// Bridge answers the HTTP calls a datasource's frontend makes to Grafana
// (DataSourceWithBackend: /api/ds/query, /api/datasources/uid/UID/resources/…)
// by calling the plugin through its Host, as Grafana's server does: a
// browser test drives the built editors against the real backend.
type Bridge struct {
	Host *Host
	// UID names the datasource the frontend was given; PluginContext is
	// what Grafana would send for it.
	UID           string
	PluginContext backend.PluginContext
}

// queryRequest is the body of POST /api/ds/query.
type queryRequest struct {
	From    string            `json:"from"`
	To      string            `json:"to"`
	Queries []json.RawMessage `json:"queries"`
}

// queryHeader is what Grafana reads of each query before handing its JSON
// to the plugin whole.
type queryHeader struct {
	RefID         string `json:"refId"`
	QueryType     string `json:"queryType"`
	IntervalMS    int64  `json:"intervalMs"`
	MaxDataPoints int64  `json:"maxDataPoints"`
	Datasource    struct {
		UID string `json:"uid"`
	} `json:"datasource"`
}

func (b *Bridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resources := "/api/datasources/uid/" + b.UID + "/resources"
	switch {
	case r.URL.Path == "/api/ds/query" && r.Method == http.MethodPost:
		b.query(w, r)
	case r.URL.Path == "/api/datasources/uid/"+b.UID+"/health" && r.Method == http.MethodGet:
		b.health(w, r)
	case r.URL.Path == resources || strings.HasPrefix(r.URL.Path, resources+"/"):
		b.resource(w, r, strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, resources), "/"))
	default:
		http.Error(w, fmt.Sprintf("grafanahost bridge: no route for %s %s", r.Method, r.URL.Path), http.StatusNotFound)
	}
}

func (b *Bridge) query(w http.ResponseWriter, r *http.Request) {
	var req queryRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "grafanahost bridge: query body: "+err.Error(), http.StatusBadRequest)
		return
	}
	tr, err := timeRange(req.From, req.To)
	if err != nil {
		http.Error(w, "grafanahost bridge: "+err.Error(), http.StatusBadRequest)
		return
	}
	out := &backend.QueryDataRequest{PluginContext: b.PluginContext}
	for i, raw := range req.Queries {
		var h queryHeader
		if err := json.Unmarshal(raw, &h); err != nil {
			http.Error(w, fmt.Sprintf("grafanahost bridge: query %d: %v", i, err), http.StatusBadRequest)
			return
		}
		if h.Datasource.UID != "" && h.Datasource.UID != b.UID {
			http.Error(w, fmt.Sprintf("grafanahost bridge: query %s names datasource %q, not %q", h.RefID, h.Datasource.UID, b.UID), http.StatusBadRequest)
			return
		}
		if h.MaxDataPoints == 0 {
			h.MaxDataPoints = 100
		}
		if h.IntervalMS == 0 {
			h.IntervalMS = 1000
		}
		out.Queries = append(out.Queries, backend.DataQuery{RefID: h.RefID, QueryType: h.QueryType, JSON: raw, TimeRange: tr,
			MaxDataPoints: h.MaxDataPoints, Interval: time.Duration(h.IntervalMS) * time.Millisecond})
	}
	resp, err := b.Host.QueryData(r.Context(), out)
	if err != nil {
		http.Error(w, "grafanahost bridge: "+err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(resp); err != nil {
		http.Error(w, "grafanahost bridge: "+err.Error(), http.StatusInternalServerError)
	}
}

// health answers as Grafana's "Save & test" does: 200 with the plugin's
// status and message when OK, 400 otherwise.
func (b *Bridge) health(w http.ResponseWriter, r *http.Request) {
	res, err := b.Host.CheckHealth(r.Context(), b.PluginContext)
	if err != nil {
		http.Error(w, "grafanahost bridge: "+err.Error(), http.StatusBadGateway)
		return
	}
	status := http.StatusOK
	if res.Status != backend.HealthStatusOk {
		status = http.StatusBadRequest
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"status": res.Status.String(), "message": res.Message})
}

func (b *Bridge) resource(w http.ResponseWriter, r *http.Request, path string) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "grafanahost bridge: "+err.Error(), http.StatusBadRequest)
		return
	}
	url := path
	if r.URL.RawQuery != "" {
		url += "?" + r.URL.RawQuery
	}
	resp, err := b.Host.CallResource(r.Context(), &backend.CallResourceRequest{PluginContext: b.PluginContext,
		Method: r.Method, Path: path, URL: url, Headers: r.Header, Body: body})
	if err != nil {
		http.Error(w, "grafanahost bridge: "+err.Error(), http.StatusBadGateway)
		return
	}
	for k, vs := range resp.Headers {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.Status)
	w.Write(resp.Body)
}

// timeRange reads Grafana's from and to: epoch milliseconds as strings.
func timeRange(from, to string) (backend.TimeRange, error) {
	f, err := strconv.ParseInt(from, 10, 64)
	if err != nil {
		return backend.TimeRange{}, fmt.Errorf("from %q: %w", from, err)
	}
	t, err := strconv.ParseInt(to, 10, 64)
	if err != nil {
		return backend.TimeRange{}, fmt.Errorf("to %q: %w", to, err)
	}
	return backend.TimeRange{From: time.UnixMilli(f), To: time.UnixMilli(t)}, nil
}
