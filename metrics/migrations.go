package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

// Migrations sets the function that counts active migrations by step. It is
// called once per scrape, with the scrape's context bounded to a few seconds,
// and never between scrapes, so the figure is always current and costs
// nothing when nobody looks.
//
// The step values label migratebot_migrations, so they must be a fixed set
// (step names or numbers, not migration ids). If list fails, the scrape
// reports migratebot_migrations_up 0 and no migratebot_migrations series;
// the error itself is not kept or logged here, so list should log it if
// operators need the reason.
//
// Until Migrations is called neither metric is reported. Calling it again
// replaces the function.
func (m *Metrics) Migrations(list func(ctx context.Context) (map[string]int, error)) {
	if list == nil {
		m.list.Store(nil)
		return
	}
	m.list.Store(&list)
}

var (
	migrationsDesc = prometheus.NewDesc("migratebot_migrations",
		"Active migrations by step, read when scraped.", []string{"step"}, nil)
	migrationsUpDesc = prometheus.NewDesc("migratebot_migrations_up",
		"1 if reading the migrations for migratebot_migrations succeeded, 0 if it failed.", nil, nil)
)

// migrationsCollector reads the migrations when collected. It lives for one
// scrape, because Collect is given no context of its own.
type migrationsCollector struct {
	ctx  context.Context
	list func(context.Context) (map[string]int, error)
}

func newMigrationsCollector(ctx context.Context, list func(context.Context) (map[string]int, error)) *migrationsCollector {
	return &migrationsCollector{ctx: ctx, list: list}
}

func (c *migrationsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- migrationsDesc
	ch <- migrationsUpDesc
}

func (c *migrationsCollector) Collect(ch chan<- prometheus.Metric) {
	byStep, err := c.list(c.ctx)
	if err != nil {
		// Reported as up 0; see Migrations for why the error goes no further.
		ch <- prometheus.MustNewConstMetric(migrationsUpDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(migrationsUpDesc, prometheus.GaugeValue, 1)
	for step, n := range byStep {
		ch <- prometheus.MustNewConstMetric(migrationsDesc, prometheus.GaugeValue, float64(n), step)
	}
}
