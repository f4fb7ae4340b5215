package aws

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/migratebot/migratebot/bot"
)

// TestFigures covers answers the emulator does not give: several
// datapoints a query, as CloudWatch gives when it aligns the window's
// start down to a minute.
func TestFigures(t *testing.T) {
	ids := sideQueries{requests: "r", targetErrors: "t", lbErrors: "l", p95: "p"}
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name   string
		values map[string][]float64
		want   bot.Figures
	}{
		{name: "counts add up, the worst p95 is kept", values: map[string][]float64{"r": {100, 20}, "t": {1, 2}, "l": {3}, "p": {0.2, 0.35, 0.1}},
			want: bot.Figures{Requests: f(120), Errors: f(6), P95Ms: f(350)}},
		{name: "empty series are no data", values: map[string][]float64{"r": {}, "t": {}, "l": {}, "p": {}}},
		{name: "requests without 5xx: 0 errors", values: map[string][]float64{"r": {0}}, want: bot.Figures{Requests: f(0), Errors: f(0)}},
		{name: "seconds to milliseconds, to the microsecond", values: map[string][]float64{"p": {0.1234567}}, want: bot.Figures{P95Ms: f(123.457)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, figures(tt.values, ids)); diff != "" {
				t.Errorf("figures (-want +got):\n%s", diff)
			}
		})
	}
}
