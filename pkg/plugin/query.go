package plugin

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/saaslens/saaslens/pkg/ingest"
	"github.com/saaslens/saaslens/pkg/query"
	"github.com/saaslens/saaslens/pkg/timecut"
)

// Query is a panel query's JSON (the QueryEditor's model).
type Query struct {
	QueryType string `json:"queryType"`
	// usage
	Metric string `json:"metric"`
	TopN   int    `json:"topN"`
	// latency: tls, serverRtt, clientRtt or resets; percentiles (50, 95)
	Measure     string    `json:"measure"`
	Percentiles []float64 `json:"percentiles"`
	// View is time (default) or dayOfMonth: every month's streams by their
	// calendar day (in timeZone), for month-end slowdowns.
	View string `json:"view"`
	// usage, serverNames, streams
	Services   []string `json:"services"`
	Clients    []string `json:"clients"`
	Devices    []string `json:"devices"` // MAC where seen, else address
	Vendors    []string `json:"vendors"`
	Products   []string `json:"products"`
	Categories []string `json:"categories"`
	Kinds      []string `json:"kinds"` // saas, infra, unknown
	// As the inventory names them.
	Users       []string `json:"users"`
	Departments []string `json:"departments"`
	// usage, latency, serverNames, monthOverMonth: service (default),
	// vendor, product, category, device, user, department; devices: the
	// first four
	GroupBy string `json:"groupBy"`
	// serverNames, streams
	Limit int `json:"limit"`
	// licences: days without use that make a contract a cancellation
	// candidate, and days ahead in which a renewal is due (0: defaults)
	IdleDays    int `json:"idleDays"`
	RenewalDays int `json:"renewalDays"`
	// sql
	RawSQL string `json:"rawSql"`
	Format string `json:"format"`
	// variable: services, vendors, products, categories, clients,
	// devices, users, departments or unclassified
	Variable string `json:"variable"`
}

// Query types.
const (
	TypeUsage        = "usage"
	TypeServerNames  = "serverNames"
	TypeStreams      = "streams"
	TypeSQL          = "sql"
	TypeLatency      = "latency"
	TypeLicences     = "licences"
	TypeShadowIT     = "shadowIT"
	TypeUnclassified = "unclassified"
	TypeMonths       = "monthOverMonth"
	TypeDevices      = "devices"
	TypeGeo          = "geo"
	TypeVariable     = "variable"
)

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
	var q Query
	if err := json.Unmarshal(dq.JSON, &q); err != nil {
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, "query JSON: "+err.Error())
	}
	if dq.QueryType != "" {
		q.QueryType = dq.QueryType
	}
	db, err := d.readDB()
	if err != nil {
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, err.Error())
	}
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	r := query.RangeOf(dq.TimeRange.From, dq.TimeRange.To)
	filter := query.Filter{Services: q.Services, Clients: q.Clients, Devices: q.Devices, Vendors: q.Vendors, Products: q.Products, Categories: q.Categories, Kinds: q.Kinds,
		Users: q.Users, Departments: q.Departments}
	limit := q.Limit
	if limit > maxTableRows {
		limit = maxTableRows
	}
	var frame *data.Frame
	switch q.QueryType {
	case TypeUsage, "":
		frame, err = query.Usage(ctx, db.SQL(), query.UsageQuery{Metric: q.Metric, Range: r, TopN: q.TopN, Filter: filter, GroupBy: q.GroupBy,
			Step: timecut.Step(r.From, r.To, dq.Interval, dq.MaxDataPoints)})
	case TypeLatency:
		lq := query.LatencyQuery{Measure: q.Measure, Percentiles: q.Percentiles, Range: r,
			Filter: filter, GroupBy: q.GroupBy, TopN: q.TopN, Step: timecut.Step(r.From, r.To, dq.Interval, dq.MaxDataPoints)}
		switch q.View {
		case "", "time":
		case "dayOfMonth":
			lq.DayOfMonth = d.cfg.Location
		default:
			err = fmt.Errorf("latency: view %q: want time or dayOfMonth", q.View)
		}
		if err == nil {
			frame, err = query.Latency(ctx, db.SQL(), lq)
		}
	case TypeLicences:
		frame, err = query.Licences(ctx, db.SQL(), query.LicencesQuery{Range: r, IdleDays: q.IdleDays, RenewalDays: q.RenewalDays}, d.cfg.Location)
		if err == nil {
			d.noteContractsProblem(frame)
		}
	case TypeMonths:
		frame, err = query.MonthOverMonth(ctx, db.SQL(), query.TableQuery{Range: r, Filter: filter, GroupBy: q.GroupBy, Limit: limit}, d.cfg.Location)
	case TypeDevices:
		frame, err = query.Devices(ctx, db.SQL(), query.TableQuery{Range: r, Filter: filter, GroupBy: q.GroupBy, Limit: limit}, d.cfg.Location)
	case TypeGeo:
		frame, err = query.Geo(ctx, db.SQL(), query.GeoQuery{TableQuery: query.TableQuery{Range: r, Filter: filter, GroupBy: q.GroupBy, Limit: limit},
			Locator: d.cfg.Geo, Home: d.cfg.Home})
	case TypeShadowIT:
		frame, err = query.ShadowIT(ctx, db.SQL(), query.TableQuery{Range: r, Filter: filter, Limit: limit}, d.cfg.Location)
	case TypeUnclassified:
		frame, err = query.Unclassified(ctx, db.SQL(), query.TableQuery{Range: r, Filter: filter, Limit: limit}, d.cfg.Location)
	case TypeServerNames:
		frame, err = query.ServerNames(ctx, db.SQL(), query.TableQuery{Range: r, Filter: filter, GroupBy: q.GroupBy, Limit: limit}, d.cfg.Location)
	case TypeStreams:
		frame, err = query.Streams(ctx, db.SQL(), query.TableQuery{Range: r, Filter: filter, Limit: limit})
	case TypeSQL:
		frame, err = query.RunSQL(ctx, db.SQL(), query.SQLQuery{Text: q.RawSQL, Format: q.Format, Range: r, Interval: dq.Interval})
	case TypeVariable:
		frame, err = variable(ctx, db.SQL(), q.Variable, r)
	default:
		err = fmt.Errorf("unknown query type %q: want usage, latency, licences, shadowIT, unclassified, monthOverMonth, devices, geo, serverNames, streams, sql or variable", q.QueryType)
	}
	if err != nil {
		status := backend.StatusBadRequest
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			status = backend.StatusTimeout
			err = fmt.Errorf("%w (queries stop after %s: narrow the time range or the query)", err, queryTimeout)
		}
		return backend.ErrDataResponseWithSource(status, backend.ErrorSourceDownstream, err.Error())
	}
	frame.RefID = dq.RefID
	return backend.DataResponse{Frames: data.Frames{frame}}
}

// variable answers a template variable's query with text and value fields.
func variable(ctx context.Context, db *sql.DB, what string, r query.Range) (*data.Frame, error) {
	if what == "" {
		what = "services"
	}
	l, ok := query.Lists[what]
	if !ok {
		return nil, fmt.Errorf("variable %q: want services, vendors, products, categories, clients, devices, users, departments or unclassified", what)
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
