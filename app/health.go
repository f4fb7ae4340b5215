package app

import (
	"fmt"
	"net/http"
	"time"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/bot/aws"
	"github.com/migratebot/migratebot/bot/prometheus"
	"github.com/migratebot/migratebot/config"
	"github.com/migratebot/migratebot/metrics"
)

// healthPorts are what health summaries read.
type healthPorts struct {
	dns     bot.DNSRecords
	traffic map[string]bot.Traffic
	alarms  bot.Alarms
	checks  bot.HealthChecks
}

// healthSources builds what each environment's health summaries read:
// Route53, CloudWatch alarms and health checks from AWS, and the figures
// from CloudWatch or the environment's Prometheus. An environment that
// needs AWS when none is configured stops the bot at start.
func healthSources(cfg *config.Config, s config.Secrets, awsClient *aws.Client, m *metrics.Metrics) (healthPorts, error) {
	p := healthPorts{traffic: map[string]bot.Traffic{}}
	if awsClient != nil {
		p.dns, p.alarms, p.checks = awsClient, awsClient, awsClient
	}
	for name, env := range cfg.Environments {
		h := env.Health
		if h == nil {
			continue
		}
		if awsClient == nil && (h.Source == "cloudwatch" || h.Route53ZoneID != "") {
			return p, fmt.Errorf("environment %s: its health settings read AWS (CloudWatch or Route53), but aws.region is not set", name)
		}
		switch h.Source {
		case "cloudwatch":
			p.traffic[name] = awsClient
		case "prometheus":
			c, err := prometheus.New(prometheus.Config{
				URL: h.Prometheus.URL, Requests: h.Prometheus.Requests, Errors: h.Prometheus.Errors,
				P95Seconds: h.Prometheus.P95Seconds, BearerToken: s.PrometheusToken, Timeout: 10 * time.Second,
				HTTPClient: &http.Client{Transport: m.Transport(metrics.SystemPrometheus, nil)},
			})
			if err != nil {
				return p, fmt.Errorf("environment %s: health: %w", name, err)
			}
			p.traffic[name] = c
		}
	}
	return p, nil
}
