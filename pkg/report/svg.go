package report

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// The charts are inline SVG written here, not by a charting library: the
// report needs three kinds (bars, lines, a heat strip), drawn on the
// server so that they print and survive mail clients that strip scripts,
// small and styled by the report's own CSS. gonum/plot writes SVG too, but
// with its own fonts and fixed canvases; go-echarts draws with JavaScript.

// palette colours series in turn; readable printed in grey.
var palette = []string{"#3b6fb6", "#e0812d", "#3f9b57", "#c2403d", "#7d5ba6", "#8c6d52", "#d16aa9", "#7a7a7a"}

func esc(s string) string { return template.HTMLEscapeString(s) }

// bar is one labelled bar group: values drawn side by side.
type bar struct {
	label  string
	values []float64
	notes  []string // each value's text at its end
}

// barChart draws horizontal bars, a row per group, one bar per series,
// scaled to the largest value (or max, when set); mark draws a vertical
// line at that value (a seat count at 100%), named markLabel.
func barChart(title string, series []string, rows []bar, max, mark float64, markLabel string) template.HTML {
	const labelW, barW, rowH, barH, top = 170.0, 360.0, 26.0, 9.0, 30.0
	scale := max
	for _, r := range rows {
		for _, v := range r.values {
			scale = math.Max(scale, v)
		}
	}
	if scale <= 0 {
		scale = 1
	}
	h := top + rowH*float64(len(rows)) + 10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" aria-label="%s" viewBox="0 0 640 %.0f" width="640" height="%.0f" xmlns="http://www.w3.org/2000/svg">`, esc(title), h, h)
	for i, s := range series {
		fmt.Fprintf(&b, `<rect x="%.0f" y="6" width="10" height="10" fill="%s"/><text x="%.0f" y="15" class="legend">%s</text>`,
			labelW+float64(i)*150, palette[i%len(palette)], labelW+14+float64(i)*150, esc(s))
	}
	if mark > 0 {
		x := labelW + barW*mark/scale
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" class="mark"/>`, x, top-4, x, h-6)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" class="axis" text-anchor="middle">%s</text>`, x, top-8, esc(markLabel))
	}
	for i, r := range rows {
		y := top + rowH*float64(i)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" class="label" text-anchor="end">%s</text>`, labelW-8, y+barH+3, esc(r.label))
		for j, v := range r.values {
			w := barW * math.Max(v, 0) / scale
			by := y + float64(j)*(barH+1)
			fmt.Fprintf(&b, `<rect x="%.0f" y="%.1f" width="%.1f" height="%.0f" fill="%s"/>`, labelW, by, w, barH, palette[j%len(palette)])
			if j < len(r.notes) && r.notes[j] != "" {
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="value">%s</text>`, labelW+w+4, by+barH-1, esc(r.notes[j]))
			}
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// line is one series of a line chart: a value per day (NaN: none).
type line struct {
	label  string
	values []float64
}

// lineChart draws series over the days of a month, the days from
// markFrom on shaded (the month's end).
func lineChart(title, unit string, days int, lines []line, markFrom int) template.HTML {
	const left, right, top, bottom, w, h = 48.0, 150.0, 12.0, 26.0, 640.0, 220.0
	plotW, plotH := w-left-right, h-top-bottom
	high := 0.0
	for _, l := range lines {
		for _, v := range l.values {
			if !math.IsNaN(v) {
				high = math.Max(high, v)
			}
		}
	}
	if high <= 0 {
		high = 1
	}
	high = niceCeiling(high)
	x := func(day int) float64 { return left + plotW*(float64(day)+0.5)/float64(days) }
	y := func(v float64) float64 { return top + plotH*(1-v/high) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" aria-label="%s" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" xmlns="http://www.w3.org/2000/svg">`, esc(title), w, h, w, h)
	if markFrom > 0 && markFrom <= days {
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.0f" width="%.1f" height="%.0f" class="shade"/>`, x(markFrom-1)-plotW/float64(days)/2, top,
			plotW*float64(days-markFrom+1)/float64(days), plotH)
	}
	for i := 0; i <= 4; i++ {
		v := high * float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" class="grid"/><text x="%.0f" y="%.1f" class="axis" text-anchor="end">%.0f</text>`,
			left, y(v), left+plotW, y(v), left-4, y(v)+3, v)
	}
	fmt.Fprintf(&b, `<text x="4" y="%.0f" class="axis">%s</text>`, top+8, esc(unit))
	for day := 1; day <= days; day++ {
		if dayLabelled(day, days) {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" class="axis" text-anchor="middle">%d</text>`, x(day-1), h-8, day)
		}
	}
	for i, l := range lines {
		color := palette[i%len(palette)]
		var path strings.Builder
		pen := false
		for day, v := range l.values {
			if math.IsNaN(v) {
				pen = false
				continue
			}
			op := "L"
			if !pen {
				op = "M"
			}
			fmt.Fprintf(&path, "%s%.1f %.1f ", op, x(day), y(v))
			pen = true
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="1.8" fill="%s"/>`, x(day), y(v), color)
		}
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="1.5"/>`, strings.TrimSpace(path.String()), color)
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="10" height="10" fill="%s"/><text x="%.0f" y="%.0f" class="legend">%s</text>`,
			w-right+12, top+float64(i)*16, color, w-right+26, top+9+float64(i)*16, esc(l.label))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// heatStrip draws a row of a cell per day for each series, each cell's
// shade its value against the series' own median (lighter faster,
// darker slower), the days from markFrom on outlined.
func heatStrip(title string, days int, lines []line, markFrom int) template.HTML {
	const labelW, cell, rowH, top = 170.0, 14.0, 18.0, 18.0
	h := top + rowH*float64(len(lines)) + 6
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" aria-label="%s" viewBox="0 0 640 %.0f" width="640" height="%.0f" xmlns="http://www.w3.org/2000/svg">`, esc(title), h, h)
	for day := 1; day <= days; day++ {
		if dayLabelled(day, days) {
			fmt.Fprintf(&b, `<text x="%.1f" y="12" class="axis" text-anchor="middle">%d</text>`, labelW+cell*(float64(day)-0.5), day)
		}
	}
	for i, l := range lines {
		y := top + rowH*float64(i)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" class="label" text-anchor="end">%s</text>`, labelW-8, y+cell-3, esc(l.label))
		var measured []float64
		for _, v := range l.values {
			if !math.IsNaN(v) {
				measured = append(measured, v)
			}
		}
		mid := 1.0
		if len(measured) > 0 {
			mid = median(measured)
		}
		for day, v := range l.values {
			fill := "#f2f2f2"
			if !math.IsNaN(v) && mid > 0 {
				// 0 at half the median or less, 1 at twice it or more.
				r := math.Min(math.Max(math.Log2(v/mid)/2+0.5, 0), 1)
				fill = fmt.Sprintf("#%02x%02x%02x", 255-int(40*r), 235-int(160*r), 215-int(180*r))
			}
			class := ""
			if day+1 >= markFrom {
				class = ` class="end"`
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.0f" height="%.0f" fill="%s"%s/>`, labelW+cell*float64(day), y, cell-1, cell-1, fill, class)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// niceCeiling rounds v up to 1, 2 or 5 times a power of ten.
func niceCeiling(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// dayLabelled tells which days an axis names: the first, every fifth
// unless it crowds the last, and the last.
func dayLabelled(day, days int) bool {
	return day == 1 || day == days || day%5 == 0 && day < days-2
}
