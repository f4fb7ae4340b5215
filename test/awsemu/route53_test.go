package awsemu

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/google/go-cmp/cmp"
)

const testZone = "Z0123456789ABCDEFGHIJ"

// recordView is what the tests compare of a ResourceRecordSet.
type recordView struct {
	Name, Type, ID string
	Weight         *int64
	TTL            int64
	Values         []string
}

func viewRecords(sets []types.ResourceRecordSet) []recordView {
	var out []recordView
	for _, r := range sets {
		v := recordView{Name: aws.ToString(r.Name), Type: string(r.Type), ID: aws.ToString(r.SetIdentifier), Weight: r.Weight, TTL: aws.ToInt64(r.TTL)}
		for _, rr := range r.ResourceRecords {
			v.Values = append(v.Values, aws.ToString(rr.Value))
		}
		out = append(out, v)
	}
	return out
}

func weight(w int64) *int64 { return &w }

// seedZone makes example.com. with records at several names.
func seedZone(emu *Server) {
	emu.AddHostedZone("/hostedzone/"+testZone, "Example.com")
	emu.SetWeightedRecords(testZone, "www.example.com", "A", 60, map[string]int64{"old": 100, "new": 0}, map[string]string{"old": "192.0.2.1", "new": "192.0.2.2"})
	emu.SetWeightedRecords(testZone, "WWW.example.com.", "AAAA", 60, map[string]int64{"old": 100}, map[string]string{"old": "2001:db8::1"})
	emu.SetRecord(testZone, "a.www.example.com", "TXT", 300, `"below www"`)
	emu.SetRecord(testZone, "api.example.com", "CNAME", 300, "api.elb.example.net")
	emu.SetWeightedRecords(testZone, "*.example.com", "CNAME", 60, map[string]int64{"blue": 1}, map[string]string{"blue": "blue.example.net"})
	emu.SetRecord(testZone, "www-b.example.com", "A", 300, "192.0.2.9")
}

func TestListResourceRecordSets(t *testing.T) {
	apexNS := recordView{Name: "example.com.", Type: "NS", TTL: 172800, Values: []string{"ns-1536.awsdns-00.co.uk.", "ns-0.awsdns-00.com.", "ns-1024.awsdns-00.org.", "ns-512.awsdns-00.net."}}
	apexSOA := recordView{Name: "example.com.", Type: "SOA", TTL: 900, Values: []string{"ns-1536.awsdns-00.co.uk. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"}}
	wildcard := recordView{Name: `\052.example.com.`, Type: "CNAME", ID: "blue", Weight: weight(1), TTL: 60, Values: []string{"blue.example.net"}}
	api := recordView{Name: "api.example.com.", Type: "CNAME", TTL: 300, Values: []string{"api.elb.example.net"}}
	wwwNew := recordView{Name: "www.example.com.", Type: "A", ID: "new", Weight: weight(0), TTL: 60, Values: []string{"192.0.2.2"}}
	wwwOld := recordView{Name: "www.example.com.", Type: "A", ID: "old", Weight: weight(100), TTL: 60, Values: []string{"192.0.2.1"}}
	www6 := recordView{Name: "www.example.com.", Type: "AAAA", ID: "old", Weight: weight(100), TTL: 60, Values: []string{"2001:db8::1"}}
	below := recordView{Name: "a.www.example.com.", Type: "TXT", TTL: 300, Values: []string{`"below www"`}}
	wwwB := recordView{Name: "www-b.example.com.", Type: "A", TTL: 300, Values: []string{"192.0.2.9"}}
	all := []recordView{apexNS, apexSOA, wildcard, api, wwwNew, wwwOld, www6, below, wwwB}

	tests := []struct {
		name string
		in   route53.ListResourceRecordSetsInput
		want []recordView
	}{
		{name: "everything, labels reversed, then type, then set identifier", want: all},
		{name: "from a name", in: route53.ListResourceRecordSetsInput{StartRecordName: aws.String("www.example.com")}, want: all[4:]},
		{name: "from a name in another case, with its dot", in: route53.ListResourceRecordSetsInput{StartRecordName: aws.String("WWW.Example.COM.")}, want: all[4:]},
		{name: "from a name and type", in: route53.ListResourceRecordSetsInput{StartRecordName: aws.String("www.example.com"), StartRecordType: "AAAA"}, want: all[6:]},
		{name: "from a name, type and identifier", in: route53.ListResourceRecordSetsInput{StartRecordName: aws.String("www.example.com"), StartRecordType: "A", StartRecordIdentifier: aws.String("old")}, want: all[5:]},
		{name: "from a name with no records: the next", in: route53.ListResourceRecordSetsInput{StartRecordName: aws.String("b.example.com")}, want: all[4:]},
		{name: "from the wildcard, escaped", in: route53.ListResourceRecordSetsInput{StartRecordName: aws.String(`\052.example.com`)}, want: all[2:]},
		{name: "past the end", in: route53.ListResourceRecordSetsInput{StartRecordName: aws.String("zzz.example.com")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			seedZone(emu)
			tt.in.HostedZoneId = aws.String(testZone)
			out, err := newRoute53(t, emu).ListResourceRecordSets(context.Background(), &tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, viewRecords(out.ResourceRecordSets)); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			if out.IsTruncated || out.NextRecordName != nil || aws.ToInt32(out.MaxItems) != 300 {
				t.Errorf("IsTruncated %v, NextRecordName %v, MaxItems %v", out.IsTruncated, out.NextRecordName, aws.ToInt32(out.MaxItems))
			}
		})
	}
}

func TestListResourceRecordSetsPages(t *testing.T) {
	emu := newEmu(t)
	emu.AddHostedZone(testZone, "example.com.")
	weights, values := map[string]int64{}, map[string]string{}
	for i := range 40 {
		id := fmt.Sprintf("id-%02d", i)
		weights[id], values[id] = int64(i%3), fmt.Sprintf("192.0.2.%d", i)
	}
	emu.SetWeightedRecords(testZone, "www.example.com", "A", 60, weights, values)
	client := newRoute53(t, emu)
	ctx := context.Background()
	full, err := client.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(testZone)})
	if err != nil {
		t.Fatal(err)
	}
	if len(full.ResourceRecordSets) != 42 {
		t.Fatalf("%d records, want 42", len(full.ResourceRecordSets))
	}
	emu.ResetCalls()

	in := &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(testZone), MaxItems: aws.Int32(8)}
	var got []types.ResourceRecordSet
	for {
		out, err := client.ListResourceRecordSets(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out.ResourceRecordSets...)
		if !out.IsTruncated {
			break
		}
		if len(out.ResourceRecordSets) != 8 || aws.ToInt32(out.MaxItems) != 8 {
			t.Fatalf("a truncated page of %d records, MaxItems %d", len(out.ResourceRecordSets), aws.ToInt32(out.MaxItems))
		}
		next := full.ResourceRecordSets[len(got)]
		if aws.ToString(out.NextRecordName) != aws.ToString(next.Name) || out.NextRecordType != next.Type || aws.ToString(out.NextRecordIdentifier) != aws.ToString(next.SetIdentifier) {
			t.Fatalf("next %s %s %s, want the next record %s %s %s", aws.ToString(out.NextRecordName), out.NextRecordType, aws.ToString(out.NextRecordIdentifier),
				aws.ToString(next.Name), next.Type, aws.ToString(next.SetIdentifier))
		}
		in.StartRecordName, in.StartRecordType, in.StartRecordIdentifier = out.NextRecordName, out.NextRecordType, out.NextRecordIdentifier
	}
	if diff := cmp.Diff(viewRecords(full.ResourceRecordSets), viewRecords(got)); diff != "" {
		t.Errorf("paged records (-want +got):\n%s", diff)
	}
	if calls := emu.Calls()["route53.ListResourceRecordSets"]; calls != 6 {
		t.Errorf("%d calls, want 6 pages of 8 for 42 records", calls)
	}
}

func TestSetWeightedRecords(t *testing.T) {
	emu := newEmu(t)
	emu.AddHostedZone(testZone, "example.com")
	client := newRoute53(t, emu)
	list := func() []recordView {
		t.Helper()
		out, err := client.ListResourceRecordSets(context.Background(), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(testZone), StartRecordName: aws.String("www.example.com")})
		if err != nil {
			t.Fatal(err)
		}
		return viewRecords(out.ResourceRecordSets)
	}
	emu.SetWeightedRecords(testZone, "www.example.com", "CNAME", 60, map[string]int64{"old": 100, "new": 0}, map[string]string{"old": "old.example.net", "new": "new.example.net"})
	emu.SetWeightedRecords(testZone, "www.example.com", "CNAME", 30, map[string]int64{"new": 255}, map[string]string{"new": "new.example.net", "unused": "x.example.net"})
	want := []recordView{{Name: "www.example.com.", Type: "CNAME", ID: "new", Weight: weight(255), TTL: 30, Values: []string{"new.example.net"}}}
	if diff := cmp.Diff(want, list()); diff != "" {
		t.Errorf("after replacing (-want +got):\n%s", diff)
	}
	emu.SetWeightedRecords(testZone, "www.example.com", "CNAME", 30, map[string]int64{}, nil)
	if got := list(); len(got) != 0 {
		t.Errorf("after removing: %v", got)
	}

	panics := []struct {
		name string
		set  func()
	}{
		{"unknown zone", func() { emu.SetWeightedRecords("ZNONE", "www.example.com", "A", 60, nil, nil) }},
		{"name outside the zone", func() { emu.SetWeightedRecords(testZone, "www.example.org", "A", 60, nil, nil) }},
		{"weight above 255", func() {
			emu.SetWeightedRecords(testZone, "www.example.com", "A", 60, map[string]int64{"a": 256}, map[string]string{"a": "192.0.2.1"})
		}},
		{"no value", func() { emu.SetWeightedRecords(testZone, "www.example.com", "A", 60, map[string]int64{"a": 1}, nil) }},
		{"not a type", func() { emu.SetWeightedRecords(testZone, "www.example.com", "ALIAS", 60, nil, nil) }},
		{"a CNAME beside an A", func() {
			emu.SetRecord(testZone, "mixed.example.com", "A", 60, "192.0.2.1")
			emu.SetWeightedRecords(testZone, "mixed.example.com", "CNAME", 60, map[string]int64{"a": 1}, map[string]string{"a": "x.example.net"})
		}},
		{"weighted beside simple", func() {
			emu.SetWeightedRecords(testZone, "mixed.example.com", "A", 60, map[string]int64{"a": 1}, map[string]string{"a": "192.0.2.1"})
		}},
	}
	for _, p := range panics {
		t.Run(p.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil {
					t.Error("no panic")
				}
			}()
			p.set()
		})
	}
}

func TestRoute53Errors(t *testing.T) {
	tests := []struct {
		name       string
		in         route53.ListResourceRecordSetsInput
		wantCode   string
		wantStatus int
	}{
		{name: "unknown zone", in: route53.ListResourceRecordSetsInput{HostedZoneId: aws.String("ZNOSUCHZONE")}, wantCode: "NoSuchHostedZone", wantStatus: 404},
		{name: "a type without a name", in: route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(testZone), StartRecordType: "A"}, wantCode: "InvalidInput", wantStatus: 400},
		{name: "not a type", in: route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(testZone), StartRecordName: aws.String("www.example.com"), StartRecordType: "ALIAS"}, wantCode: "InvalidInput", wantStatus: 400},
		{name: "no items", in: route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(testZone), MaxItems: aws.Int32(0)}, wantCode: "InvalidInput", wantStatus: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			seedZone(emu)
			_, err := newRoute53(t, emu).ListResourceRecordSets(context.Background(), &tt.in)
			if code := apiCode(err); code != tt.wantCode {
				t.Fatalf("error %v (code %q), want %s", err, code, tt.wantCode)
			}
			if status := httpStatus(err); status != tt.wantStatus {
				t.Errorf("status %d, want %d", status, tt.wantStatus)
			}
			if calls := emu.Calls()["route53.ListResourceRecordSets"]; calls != 1 {
				t.Errorf("%d calls, want 1", calls)
			}
		})
	}

	t.Run("typed", func(t *testing.T) {
		emu := newEmu(t)
		_, err := newRoute53(t, emu).ListResourceRecordSets(context.Background(), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String("ZNOSUCHZONE")})
		if e, ok := errors.AsType[*types.NoSuchHostedZone](err); !ok || !strings.Contains(e.ErrorMessage(), "ZNOSUCHZONE") {
			t.Errorf("error %v, want a NoSuchHostedZone naming the zone", err)
		}
		_, err = newRoute53(t, emu).GetHealthCheckStatus(context.Background(), &route53.GetHealthCheckStatusInput{HealthCheckId: aws.String("hc-none")})
		if _, ok := errors.AsType[*types.NoSuchHealthCheck](err); !ok {
			t.Errorf("error %v, want a NoSuchHealthCheck", err)
		}
	})
}

// httpStatus is the HTTP status of an SDK error's response, 0 if none.
func httpStatus(err error) int {
	type statusCoder interface {
		error
		HTTPStatusCode() int
	}
	if e, ok := errors.AsType[statusCoder](err); ok {
		return e.HTTPStatusCode()
	}
	return 0
}

func TestGetHealthCheckStatus(t *testing.T) {
	tests := []struct {
		name               string
		set                func(*Server)
		wantHealthy, wantN int
	}{
		{name: "healthy", set: func(s *Server) { s.SetHealthCheck("hc-1", true) }, wantHealthy: 8, wantN: 8},
		{name: "unhealthy", set: func(s *Server) { s.SetHealthCheck("hc-1", false) }, wantHealthy: 0, wantN: 8},
		{name: "split", set: func(s *Server) { s.SetHealthCheckObservations("hc-1", 3, 16) }, wantHealthy: 3, wantN: 16},
		{name: "set again", set: func(s *Server) { s.SetHealthCheck("hc-1", false); s.SetHealthCheck("hc-1", true) }, wantHealthy: 8, wantN: 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			tt.set(emu)
			out, err := newRoute53(t, emu).GetHealthCheckStatus(context.Background(), &route53.GetHealthCheckStatusInput{HealthCheckId: aws.String("hc-1")})
			if err != nil {
				t.Fatal(err)
			}
			healthy := 0
			for _, o := range out.HealthCheckObservations {
				if o.Region == "" || aws.ToString(o.IPAddress) == "" || o.StatusReport == nil || o.StatusReport.CheckedTime == nil {
					t.Errorf("incomplete observation %+v", o)
					continue
				}
				switch status := aws.ToString(o.StatusReport.Status); {
				case strings.HasPrefix(status, "Success: "):
					healthy++
				case !strings.HasPrefix(status, "Failure: "):
					t.Errorf("status %q", status)
				}
			}
			if healthy != tt.wantHealthy || len(out.HealthCheckObservations) != tt.wantN {
				t.Errorf("%d of %d healthy, want %d of %d", healthy, len(out.HealthCheckObservations), tt.wantHealthy, tt.wantN)
			}
		})
	}
}

// TestRoute53Signing: Route53 is global, signed for us-east-1 or, as the
// SDK does with a BaseEndpoint, the client's region; refusals take the
// Query protocol's names and 403.
func TestRoute53Signing(t *testing.T) {
	tests := []struct {
		name     string
		opt      func(*route53.Options)
		wantCode string
	}{
		{name: "the configured credentials and region", opt: func(*route53.Options) {}},
		{name: "signed for us-east-1", opt: func(o *route53.Options) { o.Region = "us-east-1" }},
		{name: "another region", opt: func(o *route53.Options) { o.Region = "eu-central-1" }, wantCode: "SignatureDoesNotMatch"},
		{name: "another secret", opt: func(o *route53.Options) {
			o.Credentials = credentials.NewStaticCredentialsProvider(testKey, "wrong", "")
		}, wantCode: "SignatureDoesNotMatch"},
		{name: "unknown access key", opt: func(o *route53.Options) {
			o.Credentials = credentials.NewStaticCredentialsProvider("AKIAOTHER", testSecret, "")
		}, wantCode: "InvalidClientTokenId"},
		{name: "anonymous", opt: func(o *route53.Options) { o.Credentials = aws.AnonymousCredentials{} }, wantCode: "MissingAuthenticationToken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			emu.SetHealthCheck("hc-1", true)
			_, err := newRoute53(t, emu, tt.opt).GetHealthCheckStatus(context.Background(), &route53.GetHealthCheckStatusInput{HealthCheckId: aws.String("hc-1")})
			wantRefused(t, emu, "route53.GetHealthCheckStatus", err, tt.wantCode, http.StatusForbidden)
		})
	}
}

func TestRoute53FailNext(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		errType   string
		count     int
		wantCode  string
		wantCalls int
	}{
		{name: "throttled (Throttling by default), then answered", status: 400, count: 2, wantCalls: 3},
		{name: "prior request not complete, then answered", status: 400, errType: "PriorRequestNotComplete", count: 1, wantCalls: 2},
		{name: "unavailable past the attempts", status: 503, count: 5, wantCode: "ServiceUnavailable", wantCalls: 3},
		{name: "invalid input is not retried", status: 400, errType: "InvalidInput", count: 1, wantCode: "InvalidInput", wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			seedZone(emu)
			emu.FailNext("route53.ListResourceRecordSets", tt.status, tt.errType, tt.count)
			_, err := newRoute53(t, emu).ListResourceRecordSets(context.Background(), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(testZone)})
			if code := apiCode(err); code != tt.wantCode || (tt.wantCode == "" && err != nil) {
				t.Errorf("error %v (code %q), want code %q", err, code, tt.wantCode)
			}
			if got := emu.Calls()["route53.ListResourceRecordSets"]; got != tt.wantCalls {
				t.Errorf("%d calls, want %d", got, tt.wantCalls)
			}
		})
	}
}

// TestRoute53Dispatch covers what the restXml router answers by hand.
func TestRoute53Dispatch(t *testing.T) {
	tests := []struct {
		name       string
		req        rawRequest
		wantStatus int
		wantCode   string
		wantCalls  map[string]int
	}{
		{
			name: "an operation", req: rawRequest{sign: true, method: "GET", path: "/2013-04-01/healthcheck/hc-1/status", target: "-", noBody: true, service: "route53"},
			wantStatus: 200, wantCalls: map[string]int{"route53.GetHealthCheckStatus": 1},
		},
		{
			name: "a path no emulated operation has: not counted", req: rawRequest{sign: true, method: "GET", path: "/2013-04-01/hostedzone", target: "-", noBody: true, service: "route53"},
			wantStatus: 404, wantCode: "UnknownOperationException", wantCalls: map[string]int{},
		},
		{
			name: "another method on an operation's path", req: rawRequest{sign: true, method: "POST", path: "/2013-04-01/hostedzone/" + testZone + "/rrset", target: "-", body: "<x/>", service: "route53"},
			wantStatus: 404, wantCode: "UnknownOperationException", wantCalls: map[string]int{},
		},
		{
			name: "unsigned", req: rawRequest{method: "GET", path: "/2013-04-01/healthcheck/hc-1/status", target: "-", noBody: true},
			wantStatus: 403, wantCode: "MissingAuthenticationToken", wantCalls: map[string]int{"route53.GetHealthCheckStatus": 1},
		},
		{
			name: "signed for ACM", req: rawRequest{sign: true, method: "GET", path: "/2013-04-01/healthcheck/hc-1/status", target: "-", noBody: true},
			wantStatus: 403, wantCode: "SignatureDoesNotMatch", wantCalls: map[string]int{"route53.GetHealthCheckStatus": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			emu.SetHealthCheck("hc-1", true)
			status, header, body := tt.req.do(t, emu)
			if status != tt.wantStatus {
				t.Errorf("status %d, want %d (%s)", status, tt.wantStatus, body)
			}
			if ct := header.Get("Content-Type"); ct != "text/xml" {
				t.Errorf("Content-Type %q", ct)
			}
			if tt.wantCode != "" {
				var e xmlErrorResponse
				if err := xml.Unmarshal([]byte(body), &e); err != nil {
					t.Fatalf("error body %q: %v", body, err)
				}
				if e.Error.Code != tt.wantCode || e.Error.Type != "Sender" || e.RequestID != header.Get("X-Amzn-RequestId") {
					t.Errorf("error %s, want Sender %s with the request ID", body, tt.wantCode)
				}
			}
			if diff := cmp.Diff(tt.wantCalls, emu.Calls()); diff != "" {
				t.Errorf("Calls (-want +got):\n%s", diff)
			}
		})
	}
}
