package awsemu

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/google/go-cmp/cmp"
)

func TestFailNext(t *testing.T) {
	type failure struct {
		op      string
		status  int
		errType string
		count   int
	}
	tests := []struct {
		name      string
		failures  []failure
		wantCode  string // "" for success
		wantCalls int
	}{
		{name: "throttled twice, then answered", failures: []failure{{"acm.DescribeCertificate", 400, "ThrottlingException", 2}}, wantCalls: 3},
		{name: "503 with the default type, then answered", failures: []failure{{"acm.DescribeCertificate", 503, "", 1}}, wantCalls: 2},
		{name: "failures queue up", failures: []failure{{"acm.DescribeCertificate", 500, "", 1}, {"acm.DescribeCertificate", 429, "TooManyRequestsException", 1}}, wantCalls: 3},
		{name: "more failures than attempts", failures: []failure{{"acm.DescribeCertificate", 503, "ServiceUnavailable", 5}}, wantCode: "ServiceUnavailable", wantCalls: 3},
		{name: "a non-retryable error is not retried", failures: []failure{{"acm.DescribeCertificate", 400, "ValidationException", 1}}, wantCode: "ValidationException", wantCalls: 1},
		{name: "another operation's failures do not apply", failures: []failure{{"acm.ListCertificates", 503, "", 3}}, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			emu.AddCertificate(Certificate{ARN: testARN, DomainName: "www.example.com", NotAfter: notAfter})
			for _, f := range tt.failures {
				emu.FailNext(f.op, f.status, f.errType, f.count)
			}
			_, err := newACM(t, emu).DescribeCertificate(context.Background(), &acm.DescribeCertificateInput{CertificateArn: aws.String(testARN)})
			if code := apiCode(err); code != tt.wantCode || (tt.wantCode == "" && err != nil) {
				t.Errorf("error %v (code %q), want code %q", err, code, tt.wantCode)
			}
			if got := emu.Calls()["acm.DescribeCertificate"]; got != tt.wantCalls {
				t.Errorf("%d calls, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestFailNextUnknownOperationPanics(t *testing.T) {
	emu := newEmu(t)
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "acm.DescribeCertificates") {
			t.Errorf("recovered %v, want a panic naming the operation", r)
		}
	}()
	emu.FailNext("acm.DescribeCertificates", 503, "", 1)
}

func TestCallsAndResetCalls(t *testing.T) {
	emu := newEmu(t)
	emu.AddCertificate(Certificate{ARN: testARN, DomainName: "www.example.com"})
	client := newACM(t, emu)
	ctx := context.Background()
	for range 2 {
		if _, err := client.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(testARN)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.ListCertificates(ctx, &acm.ListCertificatesInput{}); err != nil {
		t.Fatal(err)
	}
	rawRequest{}.do(t, emu) // unsigned: refused, but counted
	want := map[string]int{"acm.DescribeCertificate": 3, "acm.ListCertificates": 1}
	if diff := cmp.Diff(want, emu.Calls()); diff != "" {
		t.Errorf("Calls (-want +got):\n%s", diff)
	}

	emu.FailNext("acm.ListCertificates", 503, "", 1)
	emu.ResetCalls()
	if got := emu.Calls(); len(got) != 0 {
		t.Errorf("Calls after ResetCalls = %v", got)
	}
	if _, err := client.ListCertificates(ctx, &acm.ListCertificatesInput{}); err != nil {
		t.Fatal(err)
	}
	if got := emu.Calls()["acm.ListCertificates"]; got != 2 {
		t.Errorf("%d ListCertificates calls, want 2: ResetCalls keeps pending failures", got)
	}
}

func TestOperations(t *testing.T) {
	want := []string{
		"acm.DescribeCertificate", "acm.ListCertificates",
		"cloudwatch.DescribeAlarms", "cloudwatch.GetMetricData",
		"route53.GetHealthCheckStatus", "route53.ListResourceRecordSets",
	}
	if diff := cmp.Diff(want, Operations()); diff != "" {
		t.Errorf("Operations (-want +got):\n%s", diff)
	}
}

// TestDispatch covers requests the dispatcher and the awsJson router turn
// away, and how they are counted.
func TestDispatch(t *testing.T) {
	tests := []struct {
		name       string
		req        rawRequest
		wantStatus int
		wantType   string
		wantCalls  map[string]int
	}{
		{
			name: "a known operation", req: rawRequest{sign: true, target: "CertificateManager.ListCertificates", body: "{}"},
			wantStatus: 200, wantCalls: map[string]int{"acm.ListCertificates": 1},
		},
		{
			name: "an empty body is an empty input", req: rawRequest{sign: true, target: "CertificateManager.ListCertificates", body: " "},
			wantStatus: 200, wantCalls: map[string]int{"acm.ListCertificates": 1},
		},
		{
			name: "an operation ACM has but the emulator lacks", req: rawRequest{sign: true, target: "CertificateManager.DeleteCertificate"},
			wantStatus: 400, wantType: "UnknownOperationException", wantCalls: map[string]int{"acm.DeleteCertificate": 1},
		},
		{
			name: "an unknown target prefix", req: rawRequest{sign: true, target: "DynamoDB_20120810.GetItem"},
			wantStatus: 404, wantType: "UnknownOperationException", wantCalls: map[string]int{},
		},
		{
			name: "no target nor known path: no protocol claims it", req: rawRequest{sign: true, method: "GET", path: "/2015-01-01/es/domain", target: "-", noBody: true},
			wantStatus: 404, wantType: "UnknownOperationException", wantCalls: map[string]int{},
		},
		{
			name: "another rpc-v2-cbor service: not claimed", req: rawRequest{sign: true, path: "/service/Other/operation/GetMetricData", target: "-"},
			wantStatus: 404, wantType: "UnknownOperationException", wantCalls: map[string]int{},
		},
		{
			name: "wrong content type", req: rawRequest{sign: true, contentType: "application/json"},
			wantStatus: 400, wantType: "SerializationException", wantCalls: map[string]int{"acm.DescribeCertificate": 1},
		},
		{
			name: "not JSON", req: rawRequest{sign: true, body: `{"CertificateArn":`},
			wantStatus: 400, wantType: "SerializationException", wantCalls: map[string]int{"acm.DescribeCertificate": 1},
		},
		{
			name: "missing ARN", req: rawRequest{sign: true, body: `{}`},
			wantStatus: 400, wantType: "ValidationException", wantCalls: map[string]int{"acm.DescribeCertificate": 1},
		},
		{
			name: "unknown operation, unsigned: authentication comes first", req: rawRequest{target: "CertificateManager.DeleteCertificate"},
			wantStatus: 400, wantType: "MissingAuthenticationTokenException", wantCalls: map[string]int{"acm.DeleteCertificate": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			status, header, body := tt.req.do(t, emu)
			if status != tt.wantStatus {
				t.Errorf("status %d, want %d (%s)", status, tt.wantStatus, body)
			}
			if tt.wantType != "" {
				var e map[string]string
				if err := json.Unmarshal([]byte(body), &e); err != nil {
					t.Fatalf("error body %q: %v", body, err)
				}
				if e["__type"] != tt.wantType || header.Get("X-Amzn-ErrorType") != tt.wantType {
					t.Errorf("error %s (X-Amzn-ErrorType %q), want %s", body, header.Get("X-Amzn-ErrorType"), tt.wantType)
				}
			}
			if diff := cmp.Diff(tt.wantCalls, emu.Calls()); diff != "" {
				t.Errorf("Calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCloseTwice(t *testing.T) {
	emu := New(Options{})
	emu.Close()
	emu.Close()
	if _, err := http.Get(emu.URL()); err == nil {
		t.Error("the server still answers after Close")
	}
}
