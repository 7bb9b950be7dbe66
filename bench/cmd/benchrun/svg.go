package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"time"
)

var colors = map[string]string{
	"go":                   "#8c8c8c",
	"gowsgi":               "#d62728",
	"gunicorn-sync-1":      "#1f77b4",
	"gunicorn-sync-2":      "#6baed6",
	"gunicorn-gthread-2x4": "#08306b",
	"uwsgi-1p4t":           "#2ca02c",
	"uwsgi-2p":             "#98df8a",
	"waitress-4t":          "#ff7f0e",
	"gowsgi-w2":            "#8b0000",
	"gowsgi-lib-p2":        "#cd5c5c",
	"gowsgi-t1":            "#f4a6a6",
	"gowsgi-t4":            "#e377c2",
	"gowsgi-t8":            "#dbdb8d",
	"gowsgi-t32":           "#c5b0d5",
	"modwsgi-2x4":          "#bcbd22",
}

func color(name string) string {
	if c, ok := colors[name]; ok {
		return c
	}
	return "#9467bd"
}

func esc(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// kilo formats a rate compactly: 95.2k, 1,234.
func kilo(f float64) string {
	if f >= 10000 {
		return fmt.Sprintf("%.1fk", f/1000)
	}
	return num(f)
}

// targetRatio is the target for gowsgi ÷ the best single-process
// peer, per workload (0: none).
var targetRatio = map[string]float64{"hello": 1.5, "echo": 1.5, "flask_hello": 1.3, "flask_json": 1.3, "stream": 1.3, "django": 1.3}

const (
	chartW             = 1400
	chartLeft          = 64
	chartRight         = 16
	panelH             = 250
	chartTop           = 96
	chartGap           = 96 // between the panels: group labels and the next title
	singlePeerCap      = 3.0
	singlePeerTickStep = 0.5
)

// panel draws one grouped bar chart: per workload, each contender's value.
type panel struct {
	title   string
	top     float64
	ymax    float64
	step    float64
	value   func(c *Cell) float64
	ref     float64 // a dashed line across the panel (0: none)
	targets bool    // draw the per-workload target of gowsgi
	pct     bool    // ticks as percentages
}

func (p panel) draw(b *bytes.Buffer, res *Results) {
	plotW := float64(chartW - chartLeft - chartRight)
	y := func(v float64) float64 { return p.top + panelH*(1-math.Min(v, p.ymax)/p.ymax) }
	fmt.Fprintf(b, `<text x="%d" y="%.1f" font-size="14" font-weight="bold">%s</text>`+"\n", chartLeft, p.top-12, esc(p.title))
	for v := 0.0; v <= p.ymax+1e-9; v += p.step {
		yy := y(v)
		stroke := "#e0e0e0"
		if v == 0 {
			stroke = "#444"
		}
		label := fmt.Sprintf("%.1f×", v)
		if p.pct {
			label = fmt.Sprintf("%.0f%%", v*100)
		}
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`, chartLeft, yy, chartW-chartRight, yy, stroke)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end" fill="#444">%s</text>`+"\n", chartLeft-6, yy+4, label)
	}
	if p.ref > 0 {
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#444" stroke-dasharray="5,4"/>`+"\n", chartLeft, y(p.ref), chartW-chartRight, y(p.ref))
	}
	n := len(res.Workloads)
	groupW := plotW / float64(n)
	bars := 1
	for _, w := range res.Workloads {
		bars = max(bars, len(w.Cells))
	}
	barW := groupW * 0.86 / float64(bars)
	for gi, w := range res.Workloads {
		cx := float64(chartLeft) + groupW*(float64(gi)+0.5)
		base := p.top + panelH
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-weight="bold">%s</text>`+"\n", cx, base+18, esc(w.Name))
		if p.pct && !w.hasGo() {
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#444" font-size="11">no Go ceiling</text>`+"\n", cx, base+34)
			continue
		}
		gx := float64(chartLeft) + groupW*float64(gi) + groupW*0.07
		if t := targetRatio[w.Name]; p.targets && t > 0 {
			fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2" stroke-dasharray="6,3"><title>target for gowsgi: %.1f×</title></line>`+"\n",
				gx-2, y(t), gx+groupW*0.86+2, y(t), color("gowsgi"), t)
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end" font-size="10" fill="%s">target %.1f×</text>`+"\n", gx+groupW*0.86, y(t)-3, color("gowsgi"), t)
		}
		var labels []string
		for ci, cell := range w.Cells {
			c := res.contender(cell.Contender)
			if c == nil {
				continue
			}
			bx := gx + barW*float64(ci)
			var v float64
			if ok(cell) {
				v = p.value(cell)
			}
			if v == 0 {
				// Failed or not measured: a cross on the axis.
				fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s" font-weight="bold">×</text>`+"\n", bx+barW/2, y(0)-3, color(c.Name))
				continue
			}
			yy := y(v)
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s</title></rect>`+"\n",
				bx+0.5, yy, barW-1, y(0)-yy, color(c.Name),
				esc(fmt.Sprintf("%s on %s: %s req/s, %.2f× the best single-process peer, %.0f%% of Go, p99 %s ms",
					c.Name, w.Name, num(cell.RPS), cell.VsBestSingle, cell.VsGo*100, ms(cell.P99ms))))
			switch {
			case v > p.ymax:
				// Clipped: say how tall it is.
				fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="9" font-weight="bold" fill="#fff">%.0f×</text>`+"\n", bx+barW/2, yy+11, v)
			case c.Name == "gowsgi":
				label := fmt.Sprintf("%.2f×", v)
				if p.pct {
					label = fmt.Sprintf("%.0f%%", v*100)
				}
				// Drawn after the group's bars, with a white halo, so
				// that a taller neighbour does not hide it.
				labels = append(labels, fmt.Sprintf(`<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11" font-weight="bold" fill="%s" stroke="#fff" stroke-width="3" paint-order="stroke">%s</text>`+"\n",
					bx+barW/2, yy-4, color(c.Name), label))
			}
		}
		for _, l := range labels {
			b.WriteString(l)
		}
		if g := w.cell("go"); ok(g) && p.pct {
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#444" font-size="11">Go: %s req/s</text>`+"\n", cx, base+34, kilo(g.RPS))
		}
		if !p.pct && w.BestSingle != "" {
			if bs := w.cell(w.BestSingle); ok(bs) {
				fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#444" font-size="11">1× = %s</text>`+"\n", cx, base+34, esc(w.BestSingle))
				fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#444" font-size="11">%s req/s</text>`+"\n", cx, base+48, kilo(bs.RPS))
			}
		}
	}
}

// chart draws two grouped bar charts, one above the other: per workload,
// each contender's req/s as a share of the pure Go handler's, and as a
// multiple of the best single-process peer's (with gowsgi's targets), all
// from the same run.
func chart(res *Results) []byte {
	H := chartTop + 2*panelH + chartGap + 70
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`+"\n", chartW, H, chartW, H)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", chartW, H)
	date, _ := time.Parse(time.RFC3339, res.Date)
	st, m := res.Settings, res.Machine
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="16" font-weight="bold">%s</text>`+"\n", chartLeft,
		esc("gowsgi and its peers: requests per second, as ratios within one run"))
	sub := fmt.Sprintf("%s · %d × %s · %s · wrk -t%d -c%d, %gs × %d round(s), median",
		date.Format("2006-01-02 15:04 MST"), m.NProc, m.CPU, m.Python, st.WrkThreads, st.Connections, st.DurationSecs, st.Rounds)
	if st.Quick || st.Rounds < 2 {
		sub += " · SHORT RUN"
	}
	fmt.Fprintf(&b, `<text x="%d" y="40" fill="#444">%s</text>`+"\n", chartLeft, esc(sub))

	// Legend.
	lx, ly := float64(chartLeft), 60.0
	for _, c := range res.Contenders {
		label := c.Name
		if c.Kind == "peer" && c.Single {
			label += " (1 proc)"
		}
		wdt := 20 + 6.6*float64(len(label))
		if lx+wdt > chartW-chartRight {
			lx, ly = float64(chartLeft), ly+18
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="12" height="12" fill="%s"/>`, lx, ly-10, color(c.Name))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", lx+16, ly, esc(label))
		lx += wdt + 10
	}
	if len(res.Workloads) == 0 {
		b.WriteString("</svg>\n")
		return b.Bytes()
	}

	ymax := 1.0
	for _, w := range res.Workloads {
		for _, c := range w.Cells {
			ymax = math.Max(ymax, c.VsGo)
		}
	}
	panel{
		title: "Share of the pure Go net/http handler (Go = 100%)",
		top:   chartTop + 24, ymax: math.Ceil(ymax*5-1e-9) / 5, step: 0.2, pct: true, ref: 1,
		value: func(c *Cell) float64 { return c.VsGo },
	}.draw(&b, res)
	panel{
		title: fmt.Sprintf("Multiple of the best single-process peer (= 1×; bars above %.0f× are cut, their value inside); dashed red: gowsgi's target", singlePeerCap),
		top:   chartTop + 24 + panelH + chartGap, ymax: singlePeerCap, step: singlePeerTickStep, ref: 1, targets: true,
		value: func(c *Cell) float64 { return c.VsBestSingle },
	}.draw(&b, res)
	b.WriteString("</svg>\n")
	return b.Bytes()
}
