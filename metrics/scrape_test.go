package metrics

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape serves one scrape through h, as Prometheus would ask for the text
// format, and parses it.
func scrape(t *testing.T, h http.Handler) exposition {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: status %d: %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse scrape: %v", err)
	}
	return fams
}

// exposition is a parsed scrape, by metric family name.
type exposition map[string]*dto.MetricFamily

// find returns the series of family name whose labels are exactly labels.
func (e exposition) find(name string, labels map[string]string) (*dto.Metric, bool) {
	fam, ok := e[name]
	if !ok {
		return nil, false
	}
	for _, m := range fam.GetMetric() {
		got := map[string]string{}
		for _, lp := range m.GetLabel() {
			got[lp.GetName()] = lp.GetValue()
		}
		if maps.Equal(got, labels) {
			return m, true
		}
	}
	return nil, false
}

// value is a counter's or gauge's value, or a histogram's count, failing the
// test if the series is missing.
func (e exposition) value(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	m, ok := e.find(name, labels)
	if !ok {
		t.Fatalf("no series %s%v; have %v", name, labels, e.series(name))
	}
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	t.Fatalf("%s%v is neither counter, gauge nor histogram", name, labels)
	return 0
}

// series lists a family's label sets, for failure messages.
func (e exposition) series(name string) []map[string]string {
	var out []map[string]string
	for _, m := range e[name].GetMetric() {
		ls := map[string]string{}
		for _, lp := range m.GetLabel() {
			ls[lp.GetName()] = lp.GetValue()
		}
		out = append(out, ls)
	}
	return out
}

// lint runs promlint over our own families (not go_* or process_*).
func (e exposition) lint(t *testing.T) {
	t.Helper()
	var ours []*dto.MetricFamily
	for _, name := range slices.Sorted(maps.Keys(e)) {
		if strings.HasPrefix(name, "migratebot_") {
			ours = append(ours, e[name])
		}
	}
	problems, err := promlint.NewWithMetricFamilies(ours).Lint()
	if err != nil {
		t.Fatalf("lint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}
}

func labels(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}
