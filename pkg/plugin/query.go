package plugin

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/saaslens/saaslens/pkg/ingest"
	"github.com/saaslens/saaslens/pkg/query"
)

// QueryVersion is the query model's version the frontend writes (its
// QUERY_VERSION); the backend reads every version up to it.
const QueryVersion = 2

// queryTimeout bounds one panel query; Grafana's own data proxy gives up
// after 30 s.
const queryTimeout = 30 * time.Second

// maxTableRows bounds what a table query may ask for.
const maxTableRows = 50000

// QueryData answers each query on its own goroutine; one failing (a bad
// option, a SQL error, a timeout) fails alone.
func (d *Datasource) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	resp := backend.NewQueryDataResponse()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, q := range req.Queries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := d.query(ctx, q)
			mu.Lock()
			resp.Responses[q.RefID] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	return resp, nil
}

func (d *Datasource) query(ctx context.Context, dq backend.DataQuery) (resp backend.DataResponse) {
	defer func() {
		if p := recover(); p != nil {
			d.logger.Error("query panicked", "panic", p, "refId", dq.RefID)
			resp = backend.ErrDataResponse(backend.StatusInternal, fmt.Sprintf("internal error: %v", p))
		}
	}()
	var head struct {
		QueryType    string        `json:"queryType"`
		Version      int           `json:"version"`
		AdhocFilters []adhocFilter `json:"adhocFilters"`
	}
	if err := json.Unmarshal(dq.JSON, &head); err != nil {
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, "query JSON: "+err.Error())
	}
	if head.Version > QueryVersion {
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream,
			fmt.Sprintf("the query was saved by a newer SaaSLens (query version %d; this one reads up to %d): update the plugin", head.Version, QueryVersion))
	}
	if _, err := conditions(head.AdhocFilters); err != nil {
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, err.Error())
	}
	if dq.QueryType != "" {
		head.QueryType = dq.QueryType
	}
	qt, err := queryTypeNamed(head.QueryType)
	if err != nil {
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, err.Error())
	}
	db, err := d.readDB()
	if err != nil {
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, err.Error())
	}
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	raw, err := resolveCountries(ctx, db.SQL(), d.cfg.Geo, dq.JSON, head.AdhocFilters)
	if err != nil {
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, err.Error())
	}
	frame, err := qt.answer(ctx, d, db.SQL(), raw, dq)
	if err != nil {
		status := backend.StatusBadRequest
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			status = backend.StatusTimeout
			err = fmt.Errorf("%w (queries stop after %s: narrow the time range or the query)", err, queryTimeout)
		}
		return backend.ErrDataResponseWithSource(status, backend.ErrorSourceDownstream, err.Error())
	}
	frame.RefID = dq.RefID
	if len(head.AdhocFilters) > 0 && !slices.Contains(qt.Options, "services") {
		// A contract's seats, raw SQL and a variable's list are not
		// narrowed: the panel says so rather than seem filtered.
		frame.AppendNotices(data.Notice{Severity: data.NoticeSeverityWarning,
			Text: fmt.Sprintf("The dashboard's ad hoc filters do not narrow %s queries.", qt.Label)})
	}
	return backend.DataResponse{Frames: data.Frames{frame}}
}

// variable answers a template variable's query with text and value fields.
func variable(ctx context.Context, db *sql.DB, what string, r query.Range) (*data.Frame, error) {
	if what == "" {
		what = "services"
	}
	l, ok := query.ListNamed(what)
	if !ok {
		return nil, fmt.Errorf("variable %q: want %s", what, strings.Join(query.ListNames(), ", "))
	}
	list, err := l.Load(ctx, db, r)
	if err != nil {
		return nil, err
	}
	text, value := make([]string, len(list)), make([]string, len(list))
	for i, c := range list {
		text[i], value[i] = c.Text, c.Value
	}
	frame := data.NewFrame("variable", data.NewField("text", nil, text), data.NewField("value", nil, value))
	executedText, from, to := l.Query(r)
	frame.Meta = &data.FrameMeta{ExecutedQueryString: executedText + fmt.Sprintf("\n-- arguments: %d, %d", from, to)}
	return frame, nil
}

// noteContractsProblem tells a licences panel why its contracts may be
// missing or old: the contracts file could not be read.
func (d *Datasource) noteContractsProblem(frame *data.Frame) {
	svc := d.service()
	if svc == nil {
		return
	}
	for _, err := range svc.Status().FileProblems {
		var ce *ingest.ConfigError
		if !errors.As(err, &ce) || ce.Field != "contracts" {
			continue
		}
		text := fmt.Sprintf("contractsFile: %v: the contracts answered from are those last read", err)
		if frame.Rows() == 0 {
			text = fmt.Sprintf("no contracts to answer from: contractsFile: %v", err)
		}
		frame.AppendNotices(data.Notice{Severity: data.NoticeSeverityWarning, Text: text})
	}
}
