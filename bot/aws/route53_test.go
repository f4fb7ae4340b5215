package aws_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/google/go-cmp/cmp"

	"github.com/migratebot/migratebot/bot/aws"
	"github.com/migratebot/migratebot/test/awsemu"
)

const (
	zoneID = "Z04217032KPRODACME000"
	entry  = "web-api.kprod.acme.example"
)

// newZone is kprod.acme.example. with web-api's neighbours: weighted
// records with the same set identifiers that sort just before and after it.
func newZone(t *testing.T) *awsemu.Server {
	t.Helper()
	emu := newEmu(t)
	emu.AddHostedZone(zoneID, "kprod.acme.example.")
	emu.SetWeightedRecords(zoneID, "web-ap.kprod.acme.example", "CNAME", 60,
		map[string]int64{"legacy": 7}, map[string]string{"legacy": "before.example.net"})
	emu.SetWeightedRecords(zoneID, "canary.web-api.kprod.acme.example", "CNAME", 60,
		map[string]int64{"legacy": 9}, map[string]string{"legacy": "after.example.net"})
	return emu
}

func TestWeights(t *testing.T) {
	targets := map[string]string{"legacy": "web-api-legacy.elb.example.net", "k8s": "web-api.k8s.example.net"}
	tests := []struct {
		name string
		seed func(*awsemu.Server)
		ask  string
		want map[string]int64
	}{
		{
			name: "a weight of 0 is kept",
			seed: func(e *awsemu.Server) {
				e.SetWeightedRecords(zoneID, entry, "CNAME", 60, map[string]int64{"legacy": 100, "k8s": 0}, targets)
			},
			ask: entry, want: map[string]int64{"legacy": 100, "k8s": 0},
		},
		{
			name: "mid-cutover",
			seed: func(e *awsemu.Server) {
				e.SetWeightedRecords(zoneID, entry, "CNAME", 60, map[string]int64{"legacy": 75, "k8s": 25}, targets)
			},
			ask: entry, want: map[string]int64{"legacy": 75, "k8s": 25},
		},
		{
			name: "asked in another case, with the trailing dot",
			seed: func(e *awsemu.Server) {
				e.SetWeightedRecords(zoneID, entry, "CNAME", 60, map[string]int64{"legacy": 0, "k8s": 255}, targets)
			},
			ask: "Web-API.KPROD.acme.example.", want: map[string]int64{"legacy": 0, "k8s": 255},
		},
		{
			name: "A and AAAA records agreeing",
			seed: func(e *awsemu.Server) {
				e.SetWeightedRecords(zoneID, entry, "A", 60, map[string]int64{"legacy": 50, "k8s": 50}, map[string]string{"legacy": "192.0.2.1", "k8s": "192.0.2.2"})
				e.SetWeightedRecords(zoneID, entry, "AAAA", 60, map[string]int64{"legacy": 50, "k8s": 50}, map[string]string{"legacy": "2001:db8::1", "k8s": "2001:db8::2"})
			},
			ask: entry, want: map[string]int64{"legacy": 50, "k8s": 50},
		},
		{
			name: "simple records of the name are left out",
			seed: func(e *awsemu.Server) {
				e.SetRecord(zoneID, entry, "TXT", 300, `"owner=web-api"`)
				e.SetRecord(zoneID, entry, "AAAA", 300, "2001:db8::1")
				e.SetWeightedRecords(zoneID, entry, "A", 60, map[string]int64{"legacy": 0, "k8s": 100}, map[string]string{"legacy": "192.0.2.1", "k8s": "192.0.2.2"})
			},
			ask: entry, want: map[string]int64{"legacy": 0, "k8s": 100},
		},
		{
			name: "only simple records: an empty map",
			seed: func(e *awsemu.Server) { e.SetRecord(zoneID, entry, "A", 300, "192.0.2.1") },
			ask:  entry, want: map[string]int64{},
		},
		{
			name: "no records of the name",
			seed: func(*awsemu.Server) {},
			ask:  entry, want: map[string]int64{},
		},
		{
			name: "a name with no records at all",
			seed: func(*awsemu.Server) {},
			ask:  "nothing.kprod.acme.example", want: map[string]int64{},
		},
		{
			name: "a wildcard, which Route53 answers escaped",
			seed: func(e *awsemu.Server) {
				e.SetWeightedRecords(zoneID, "*.kprod.acme.example", "CNAME", 60, map[string]int64{"legacy": 1, "k8s": 0}, targets)
			},
			ask: "*.kprod.acme.example", want: map[string]int64{"legacy": 1, "k8s": 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newZone(t)
			tt.seed(emu)
			got, err := newClient(t, emu).Weights(context.Background(), zoneID, tt.ask)
			if err != nil {
				t.Fatalf("Weights: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("weights (-want +got):\n%s", diff)
			}
			if calls := emu.Calls()["route53.ListResourceRecordSets"]; calls != 1 {
				t.Errorf("%d ListResourceRecordSets calls, want 1", calls)
			}
		})
	}
}

// TestWeightsPages: Route53 answers 300 records a page; the name's records
// continue on the next one, and the records after it are not read.
func TestWeightsPages(t *testing.T) {
	emu := newZone(t)
	weights, values := map[string]int64{}, map[string]string{}
	for i := range 350 {
		id := fmt.Sprintf("pod-%03d", i)
		weights[id], values[id] = int64(i%4), fmt.Sprintf("pod-%03d.k8s.example.net", i)
	}
	emu.SetWeightedRecords(zoneID, entry, "CNAME", 60, weights, values)
	for i := range 400 {
		emu.SetRecord(zoneID, fmt.Sprintf("x%03d.web-api.kprod.acme.example", i), "A", 60, "192.0.2.1")
	}
	got, err := newClient(t, emu).Weights(context.Background(), zoneID, entry)
	if err != nil {
		t.Fatalf("Weights: %v", err)
	}
	if diff := cmp.Diff(weights, got); diff != "" {
		t.Errorf("weights (-want +got):\n%s", diff)
	}
	if calls := emu.Calls()["route53.ListResourceRecordSets"]; calls != 2 {
		t.Errorf("%d ListResourceRecordSets calls, want 2", calls)
	}
}

func TestWeightsDisagreeing(t *testing.T) {
	emu := newZone(t)
	emu.SetWeightedRecords(zoneID, entry, "A", 60, map[string]int64{"legacy": 100}, map[string]string{"legacy": "192.0.2.1"})
	emu.SetWeightedRecords(zoneID, entry, "AAAA", 60, map[string]int64{"legacy": 0}, map[string]string{"legacy": "2001:db8::1"})
	_, err := newClient(t, emu).Weights(context.Background(), zoneID, entry)
	if err == nil || !strings.Contains(err.Error(), `"legacy"`) {
		t.Errorf("error %v, want one naming the set identifier", err)
	}
}

func TestWeightsZoneNotFound(t *testing.T) {
	emu := newZone(t)
	_, err := newClient(t, emu).Weights(context.Background(), "ZMISSING", entry)
	if !errors.Is(err, aws.ErrNotFound) {
		t.Fatalf("error %v does not match ErrNotFound", err)
	}
	if _, ok := errors.AsType[*types.NoSuchHostedZone](err); !ok {
		t.Errorf("error %v does not hold the SDK's NoSuchHostedZone", err)
	}
	if want := "read the weighted records of " + entry + " in zone ZMISSING: "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q does not start %q", err, want)
	}
	if calls := emu.Calls()["route53.ListResourceRecordSets"]; calls != 1 {
		t.Errorf("%d calls, want 1: not found is not retried", calls)
	}
}

func TestHealthy(t *testing.T) {
	tests := []struct {
		name string
		set  func(*awsemu.Server)
		want bool
	}{
		{name: "every checker sees it healthy", set: func(e *awsemu.Server) { e.SetHealthCheck("hc-1", true) }, want: true},
		{name: "none does", set: func(e *awsemu.Server) { e.SetHealthCheck("hc-1", false) }},
		{name: "five of eight", set: func(e *awsemu.Server) { e.SetHealthCheckObservations("hc-1", 5, 8) }, want: true},
		{name: "half is not most", set: func(e *awsemu.Server) { e.SetHealthCheckObservations("hc-1", 4, 8) }},
		{name: "no observations", set: func(e *awsemu.Server) { e.SetHealthCheckObservations("hc-1", 0, 0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			tt.set(emu)
			got, err := newClient(t, emu).Healthy(context.Background(), "hc-1")
			if err != nil || got != tt.want {
				t.Errorf("Healthy = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestHealthyNotFound(t *testing.T) {
	emu := newEmu(t)
	_, err := newClient(t, emu).Healthy(context.Background(), "hc-missing")
	if !errors.Is(err, aws.ErrNotFound) || !strings.HasPrefix(err.Error(), "read the status of health check hc-missing: ") {
		t.Errorf("error %v, want a not found one saying what was being done", err)
	}
	if _, err := newClient(t, emu).Healthy(context.Background(), ""); err == nil {
		t.Error("no error for an empty ID")
	}
	if calls := emu.Calls()["route53.GetHealthCheckStatus"]; calls != 1 {
		t.Errorf("%d calls, want 1", calls)
	}
}

func TestRoute53Retries(t *testing.T) {
	tests := []struct {
		name      string
		op        string
		status    int
		errType   string
		failures  int
		wantCode  string
		wantCalls int
	}{
		{name: "records throttled, then read", op: "route53.ListResourceRecordSets", status: 400, errType: "Throttling", failures: 2, wantCalls: 3},
		{name: "records unavailable past the attempts", op: "route53.ListResourceRecordSets", status: 503, failures: 5, wantCode: "ServiceUnavailable", wantCalls: 3},
		{name: "health check throttled, then read", op: "route53.GetHealthCheckStatus", status: 400, failures: 1, wantCalls: 2},
		{name: "health check: invalid input is not retried", op: "route53.GetHealthCheckStatus", status: 400, errType: "InvalidInput", failures: 1, wantCode: "InvalidInput", wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newZone(t)
			emu.SetWeightedRecords(zoneID, entry, "CNAME", 60, map[string]int64{"legacy": 100}, map[string]string{"legacy": "web-api-legacy.elb.example.net"})
			emu.SetHealthCheck("hc-1", true)
			emu.FailNext(tt.op, tt.status, tt.errType, tt.failures)
			c := newClient(t, emu)
			var err error
			if tt.op == "route53.ListResourceRecordSets" {
				_, err = c.Weights(context.Background(), zoneID, entry)
			} else {
				_, err = c.Healthy(context.Background(), "hc-1")
			}
			if code := apiCode(err); code != tt.wantCode || (tt.wantCode == "" && err != nil) {
				t.Errorf("error %v (code %q), want code %q", err, code, tt.wantCode)
			}
			if calls := emu.Calls()[tt.op]; calls != tt.wantCalls {
				t.Errorf("%d calls, want %d", calls, tt.wantCalls)
			}
		})
	}
}

// TestRoute53Refused: Route53 names signature refusals as the Query
// protocol does.
func TestRoute53Refused(t *testing.T) {
	for _, tt := range queryRefusals {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newZone(t)
			_, err := newClient(t, emu, tt.mod).Weights(context.Background(), zoneID, entry)
			if code := apiCode(err); code != tt.wantCode {
				t.Fatalf("error %v (code %q), want %q", err, code, tt.wantCode)
			}
			if calls := emu.Calls()["route53.ListResourceRecordSets"]; calls != 1 {
				t.Errorf("%d calls, want 1", calls)
			}
		})
	}
}
