package report

import (
	"context"
	"io"
	"testing"

	"github.com/saaslens/saaslens/pkg/internal/monthdb"
)

// BenchmarkOfficeMonthReport times the report of a 500-device office's
// month (the database BenchmarkOfficeMonth in pkg/query builds and
// caches), from its queries to the written page.
func BenchmarkOfficeMonthReport(b *testing.B) {
	m := monthdb.Office()
	db := monthdb.OfficeDB(b, m)
	ctx := context.Background()
	for _, lang := range []string{"en", "ja"} {
		b.Run(lang, func(b *testing.B) {
			for b.Loop() {
				r, err := Build(ctx, db, Options{Month: m.First, Location: m.Location, Lang: lang, Home: "JP"})
				if err != nil {
					b.Fatal(err)
				}
				if err := r.HTML(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
