package aws_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/migratebot/migratebot/bot"
	"github.com/migratebot/migratebot/bot/aws"
	"github.com/migratebot/migratebot/test/awsemu"
)

const (
	oldLB = "web-api-legacy" // a classic load balancer
	newLB = "app/web-api-k8s/50dc6c495c0c9188"
)

var (
	from = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	to   = from.Add(5 * time.Minute)
)

func num(v float64) *float64 { return &v }

func TestMeasure(t *testing.T) {
	classicOld := bot.SideRef{Side: "old", LoadBalancer: oldLB, Classic: true}
	appNew := bot.SideRef{Side: "new", LoadBalancer: newLB}
	tests := []struct {
		name         string
		old, new     bot.SideRef
		seed         func(*awsemu.Server)
		wantOld      bot.Figures
		wantNew      bot.Figures
		wantGetCalls int
	}{
		{
			name: "classic old, application new",
			old:  classicOld, new: appNew,
			seed: func(e *awsemu.Server) {
				e.SetLoadBalancerMetrics(oldLB, true, awsemu.LoadBalancerMetrics{Requests: num(9000), Errors5xx: num(18), P95Ms: num(210)})
				e.SetLoadBalancerMetrics(newLB, false, awsemu.LoadBalancerMetrics{Requests: num(3000), Errors5xx: num(7), P95Ms: num(180.5)})
			},
			wantOld:      bot.Figures{Requests: num(9000), Errors: num(18), P95Ms: num(210)},
			wantNew:      bot.Figures{Requests: num(3000), Errors: num(7), P95Ms: num(180.5)},
			wantGetCalls: 1,
		},
		{
			name: "the same name as the other kind is another load balancer",
			old:  bot.SideRef{LoadBalancer: "shared"}, new: bot.SideRef{LoadBalancer: "shared", Classic: true},
			seed: func(e *awsemu.Server) {
				e.SetLoadBalancerMetrics("shared", true, awsemu.LoadBalancerMetrics{Requests: num(10), Errors5xx: num(1), P95Ms: num(99)})
			},
			wantNew:      bot.Figures{Requests: num(10), Errors: num(1), P95Ms: num(99)},
			wantGetCalls: 1,
		},
		{
			name: "no 5xx datapoints while serving: 0 errors",
			old:  classicOld, new: appNew,
			seed: func(e *awsemu.Server) {
				e.SetLoadBalancerMetrics(oldLB, true, awsemu.LoadBalancerMetrics{Requests: num(100), P95Ms: num(50)})
				e.SetLoadBalancerMetrics(newLB, false, awsemu.LoadBalancerMetrics{Requests: num(100), Errors5xx: num(0), P95Ms: num(40)})
			},
			wantOld:      bot.Figures{Requests: num(100), Errors: num(0), P95Ms: num(50)},
			wantNew:      bot.Figures{Requests: num(100), Errors: num(0), P95Ms: num(40)},
			wantGetCalls: 1,
		},
		{
			name: "no data at all: nil, never 0",
			old:  classicOld, new: appNew,
			seed: func(e *awsemu.Server) {
				e.SetLoadBalancerMetrics(newLB, false, awsemu.LoadBalancerMetrics{})
			},
			wantGetCalls: 1,
		},
		{
			name: "errors without requests",
			old:  classicOld, new: appNew,
			seed: func(e *awsemu.Server) {
				e.SetLoadBalancerMetrics(newLB, false, awsemu.LoadBalancerMetrics{Errors5xx: num(3)})
			},
			wantNew:      bot.Figures{Errors: num(3)},
			wantGetCalls: 1,
		},
		{
			name: "only the new side has a load balancer",
			old:  bot.SideRef{Side: "old", Selector: `service="web-api"`}, new: appNew,
			seed: func(e *awsemu.Server) {
				e.SetLoadBalancerMetrics(newLB, false, awsemu.LoadBalancerMetrics{Requests: num(42), Errors5xx: num(1), P95Ms: num(12)})
			},
			wantNew:      bot.Figures{Requests: num(42), Errors: num(1), P95Ms: num(12)},
			wantGetCalls: 1,
		},
		{
			name: "neither side has one: no call",
			old:  bot.SideRef{Side: "old"}, new: bot.SideRef{Side: "new"},
			seed: func(*awsemu.Server) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			tt.seed(emu)
			gotOld, gotNew, err := newClient(t, emu).Measure(context.Background(), tt.old, tt.new, from, to)
			if err != nil {
				t.Fatalf("Measure: %v", err)
			}
			if diff := cmp.Diff(tt.wantOld, gotOld); diff != "" {
				t.Errorf("old figures (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantNew, gotNew); diff != "" {
				t.Errorf("new figures (-want +got):\n%s", diff)
			}
			if calls := emu.Calls()["cloudwatch.GetMetricData"]; calls != tt.wantGetCalls {
				t.Errorf("%d GetMetricData calls, want %d", calls, tt.wantGetCalls)
			}
		})
	}
}

// TestMeasureWindows: the period is the window rounded up to a minute,
// which CloudWatch (and the emulator) require of a period over 30s.
func TestMeasureWindows(t *testing.T) {
	for _, window := range []time.Duration{time.Second, 90 * time.Second, 5 * time.Minute, 6*time.Minute + 1, 24 * time.Hour} {
		t.Run(window.String(), func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			emu.SetLoadBalancerMetrics(newLB, false, awsemu.LoadBalancerMetrics{Requests: num(5)})
			_, got, err := newClient(t, emu).Measure(context.Background(), bot.SideRef{}, bot.SideRef{LoadBalancer: newLB}, from, from.Add(window))
			if err != nil || got.Requests == nil || *got.Requests != 5 {
				t.Errorf("Measure = %+v, %v", got, err)
			}
		})
	}
	t.Run("empty window", func(t *testing.T) {
		emu := newEmu(t)
		_, _, err := newClient(t, emu).Measure(context.Background(), bot.SideRef{}, bot.SideRef{LoadBalancer: newLB}, from, from)
		if err == nil || !strings.HasPrefix(err.Error(), "read the CloudWatch metrics of "+newLB+" from 2026-03-01T12:00:00Z to 2026-03-01T12:00:00Z: ") {
			t.Errorf("error %v", err)
		}
		if calls := emu.Calls(); len(calls) != 0 {
			t.Errorf("Calls = %v, want none", calls)
		}
	})
}

func TestMeasureRetries(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		errType   string
		failures  int
		wantCode  string
		wantCalls int
	}{
		{name: "throttled, then measured", status: 400, failures: 2, wantCalls: 3},
		{name: "unavailable, then measured", status: 503, failures: 1, wantCalls: 2},
		{name: "throttled past the attempts", status: 400, failures: 5, wantCode: "Throttling", wantCalls: 3},
		{name: "an invalid parameter is not retried", status: 400, errType: "InvalidParameterValueException", failures: 1, wantCode: "InvalidParameterValue", wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			emu.SetLoadBalancerMetrics(newLB, false, awsemu.LoadBalancerMetrics{Requests: num(5)})
			emu.FailNext("cloudwatch.GetMetricData", tt.status, tt.errType, tt.failures)
			_, got, err := newClient(t, emu).Measure(context.Background(), bot.SideRef{}, bot.SideRef{LoadBalancer: newLB}, from, to)
			if code := apiCode(err); code != tt.wantCode {
				t.Errorf("error %v (code %q), want %q", err, code, tt.wantCode)
			}
			if tt.wantCode == "" && (got.Requests == nil || *got.Requests != 5) {
				t.Errorf("figures %+v", got)
			}
			if calls := emu.Calls()["cloudwatch.GetMetricData"]; calls != tt.wantCalls {
				t.Errorf("%d calls, want %d", calls, tt.wantCalls)
			}
		})
	}
}

func TestFiring(t *testing.T) {
	seed := func(e *awsemu.Server) {
		e.SetAlarm("web-api-5xx", "ALARM")
		e.SetAlarm("web-api-latency", "OK")
		e.SetAlarm("web-api-nodata", "INSUFFICIENT_DATA")
		e.SetCompositeAlarm("web-api-health", "ALARM")
		e.SetAlarm("billing", "ALARM")
	}
	tests := []struct {
		name      string
		names     []string
		prefix    string
		want      []string
		wantCalls int
	}{
		{name: "by names, with a composite", names: []string{"web-api-latency", "web-api-health", "web-api-5xx", "web-api-5xx", "missing"},
			want: []string{"web-api-5xx", "web-api-health"}, wantCalls: 1},
		{name: "by prefix", prefix: "web-api-", want: []string{"web-api-5xx", "web-api-health"}, wantCalls: 1},
		{name: "both, overlapping", names: []string{"billing", "web-api-5xx"}, prefix: "web-api-",
			want: []string{"billing", "web-api-5xx", "web-api-health"}, wantCalls: 2},
		{name: "none firing", names: []string{"web-api-latency", "web-api-nodata"}, wantCalls: 1},
		{name: "nothing asked: no call"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			seed(emu)
			got, err := newClient(t, emu).Firing(context.Background(), tt.names, tt.prefix)
			if err != nil {
				t.Fatalf("Firing: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("firing (-want +got):\n%s", diff)
			}
			if calls := emu.Calls()["cloudwatch.DescribeAlarms"]; calls != tt.wantCalls {
				t.Errorf("%d DescribeAlarms calls, want %d", calls, tt.wantCalls)
			}
		})
	}
}

// TestFiringMany: names go 100 a call, and every page is read.
func TestFiringMany(t *testing.T) {
	emu := newEmu(t)
	var names, want []string
	for i := range 250 {
		name := fmt.Sprintf("web-api-%03d", i)
		names = append(names, name)
		state := "OK"
		if i%2 == 0 {
			state = "ALARM"
			want = append(want, name)
		}
		emu.SetAlarm(name, state)
	}
	got, err := newClient(t, emu).Firing(context.Background(), names, "")
	if err != nil {
		t.Fatalf("Firing: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("by names (-want +got):\n%s", diff)
	}
	if calls := emu.Calls()["cloudwatch.DescribeAlarms"]; calls != 3 {
		t.Errorf("%d calls by names, want 3 (100, 100, 50)", calls)
	}

	emu.ResetCalls()
	got, err = newClient(t, emu).Firing(context.Background(), nil, "web-api-")
	if err != nil {
		t.Fatalf("Firing: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("by prefix (-want +got):\n%s", diff)
	}
	if calls := emu.Calls()["cloudwatch.DescribeAlarms"]; calls != 2 {
		t.Errorf("%d calls by prefix, want 2 pages (100, 25)", calls)
	}
}

func TestFiringErrors(t *testing.T) {
	emu := newEmu(t)
	emu.SetAlarm("web-api-5xx", "ALARM")
	emu.FailNext("cloudwatch.DescribeAlarms", 400, "", 1)
	got, err := newClient(t, emu).Firing(context.Background(), []string{"web-api-5xx"}, "")
	if err != nil || len(got) != 1 {
		t.Fatalf("Firing after a throttle = %v, %v", got, err)
	}
	if calls := emu.Calls()["cloudwatch.DescribeAlarms"]; calls != 2 {
		t.Errorf("%d calls, want 2", calls)
	}

	emu.FailNext("cloudwatch.DescribeAlarms", 400, "AccessDenied", 1)
	_, err = newClient(t, emu).Firing(context.Background(), nil, "web-api-")
	if apiCode(err) != "AccessDenied" || !strings.HasPrefix(err.Error(), "read the CloudWatch alarms named web-api-*: ") {
		t.Errorf("error %v", err)
	}
}

// queryRefusals are badly signed calls and how a service of the Query
// protocol's error codes (CloudWatch, Route53) names each.
var queryRefusals = []struct {
	name     string
	mod      func(*aws.Config)
	wantCode string
}{
	{name: "wrong secret", mod: func(c *aws.Config) { c.SecretAccessKey = "guess" }, wantCode: "SignatureDoesNotMatch"},
	{name: "unknown access key", mod: func(c *aws.Config) { c.AccessKeyID = "AKIAOTHER" }, wantCode: "InvalidClientTokenId"},
	{name: "another region", mod: func(c *aws.Config) { c.Region = "eu-west-1" }, wantCode: "SignatureDoesNotMatch"},
}

// TestCloudWatchRefused: CloudWatch names signature refusals as the Query
// protocol does.
func TestCloudWatchRefused(t *testing.T) {
	for _, tt := range queryRefusals {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			_, _, err := newClient(t, emu, tt.mod).Measure(context.Background(), bot.SideRef{}, bot.SideRef{LoadBalancer: newLB}, from, to)
			if code := apiCode(err); code != tt.wantCode {
				t.Fatalf("Measure: error %v (code %q), want %q", err, code, tt.wantCode)
			}
			_, err = newClient(t, emu, tt.mod).Firing(context.Background(), []string{"a"}, "")
			if code := apiCode(err); code != tt.wantCode {
				t.Fatalf("Firing: error %v (code %q), want %q", err, code, tt.wantCode)
			}
			if calls := emu.Calls(); calls["cloudwatch.GetMetricData"] != 1 || calls["cloudwatch.DescribeAlarms"] != 1 {
				t.Errorf("Calls = %v, want one of each", calls)
			}
		})
	}
}
