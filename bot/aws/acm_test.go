package aws_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/migratebot/migratebot/bot/aws"
	"github.com/migratebot/migratebot/test/awsemu"
)

const (
	region = "us-east-1"
	key    = "AKIAMIGRATEBOTTEST00"
	secret = "migratebot/test/secret"
	arn    = "arn:aws:acm:us-east-1:111122223333:certificate/web-api-legacy"
)

// now is the bot's clock in these tests; certificates expire relative to it.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newEmu(t *testing.T) *awsemu.Server {
	t.Helper()
	emu := awsemu.New(awsemu.Options{Region: region, AccessKeyID: key, SecretAccessKey: secret})
	t.Cleanup(emu.Close)
	return emu
}

func newClient(t *testing.T, emu *awsemu.Server, mod ...func(*aws.Config)) *aws.Client {
	t.Helper()
	cfg := aws.Config{Region: region, BaseEndpoint: emu.URL(), AccessKeyID: key, SecretAccessKey: secret, MaxBackoff: time.Millisecond}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := aws.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func apiCode(err error) string {
	if ae, ok := errors.AsType[smithy.APIError](err); ok {
		return ae.ErrorCode()
	}
	return ""
}

func TestCheckCertificate(t *testing.T) {
	later := now.AddDate(0, 6, 0)
	tests := []struct {
		name string
		cert awsemu.Certificate
		host string
		want aws.CertificateCheck
	}{
		{
			name: "covering certificate",
			cert: awsemu.Certificate{DomainName: "web-api.kprod.acme.example", SANs: []string{"web-api.kprod.acme.example", "web-api-cutover.kprod.acme.example"}, NotAfter: later},
			host: "web-api-cutover.kprod.acme.example",
			want: aws.CertificateCheck{Domains: []string{"web-api.kprod.acme.example", "web-api-cutover.kprod.acme.example"}, NotAfter: later, Status: "ISSUED", Covers: true},
		},
		{
			name: "wildcard",
			cert: awsemu.Certificate{DomainName: "web-api.kprod.acme.example", SANs: []string{"web-api.kprod.acme.example", "*.kprod.acme.example"}, NotAfter: later},
			host: "web-api-cutover.kprod.acme.example",
			want: aws.CertificateCheck{Domains: []string{"web-api.kprod.acme.example", "*.kprod.acme.example"}, NotAfter: later, Status: "ISSUED", Covers: true},
		},
		{
			name: "wildcard one level too high",
			cert: awsemu.Certificate{DomainName: "*.acme.example", NotAfter: later},
			host: "web-api.kprod.acme.example",
			want: aws.CertificateCheck{Domains: []string{"*.acme.example"}, NotAfter: later, Status: "ISSUED"},
		},
		{
			name: "non-covering certificate",
			cert: awsemu.Certificate{DomainName: "web-api.kprod.acme.example", NotAfter: later},
			host: "web-api-cutover.kprod.acme.example",
			want: aws.CertificateCheck{Domains: []string{"web-api.kprod.acme.example"}, NotAfter: later, Status: "ISSUED"},
		},
		{
			name: "host in another case with a trailing dot",
			cert: awsemu.Certificate{DomainName: "web-api.kprod.acme.example", NotAfter: later},
			host: "Web-API.kprod.acme.example.",
			want: aws.CertificateCheck{Domains: []string{"web-api.kprod.acme.example"}, NotAfter: later, Status: "ISSUED", Covers: true},
		},
		{
			name: "expired by date, ACM not caught up yet",
			cert: awsemu.Certificate{DomainName: "web-api.kprod.acme.example", NotAfter: now.Add(-time.Second)},
			host: "web-api.kprod.acme.example",
			want: aws.CertificateCheck{Domains: []string{"web-api.kprod.acme.example"}, NotAfter: now.Add(-time.Second), Status: "ISSUED", Covers: true, Expired: true},
		},
		{
			name: "valid until the very second",
			cert: awsemu.Certificate{DomainName: "web-api.kprod.acme.example", NotAfter: now},
			host: "web-api.kprod.acme.example",
			want: aws.CertificateCheck{Domains: []string{"web-api.kprod.acme.example"}, NotAfter: now, Status: "ISSUED", Covers: true},
		},
		{
			name: "expired by status",
			cert: awsemu.Certificate{DomainName: "web-api.kprod.acme.example", NotAfter: later, Status: "EXPIRED"},
			host: "web-api.kprod.acme.example",
			want: aws.CertificateCheck{Domains: []string{"web-api.kprod.acme.example"}, NotAfter: later, Status: "EXPIRED", Covers: true, Expired: true},
		},
		{
			name: "pending validation: no dates, not expired",
			cert: awsemu.Certificate{DomainName: "web-api.kprod.acme.example", Status: "PENDING_VALIDATION"},
			host: "web-api.kprod.acme.example",
			want: aws.CertificateCheck{Domains: []string{"web-api.kprod.acme.example"}, Status: "PENDING_VALIDATION", Covers: true},
		},
		{
			name: "imported, subject CN not among its SANs: the CN does not count",
			cert: awsemu.Certificate{DomainName: "legacy.acme.example", SANs: []string{"www.acme.example"}, Type: "IMPORTED", NotAfter: later},
			host: "legacy.acme.example",
			want: aws.CertificateCheck{Domains: []string{"legacy.acme.example", "www.acme.example"}, NotAfter: later, Status: "ISSUED"},
		},
		{
			name: "no SANs listed: the domain name counts",
			cert: awsemu.Certificate{DomainName: "legacy.acme.example", SANs: []string{}, Type: "IMPORTED", NotAfter: later},
			host: "legacy.acme.example",
			want: aws.CertificateCheck{Domains: []string{"legacy.acme.example"}, NotAfter: later, Status: "ISSUED", Covers: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			tt.cert.ARN = arn
			emu.AddCertificate(tt.cert)
			got, err := newClient(t, emu).CheckCertificate(context.Background(), arn, tt.host, now)
			if err != nil {
				t.Fatalf("CheckCertificate: %v", err)
			}
			tt.want.ARN = arn
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("check (-want +got):\n%s", diff)
			}
			if calls := emu.Calls()["acm.DescribeCertificate"]; calls != 1 {
				t.Errorf("%d DescribeCertificate calls, want 1", calls)
			}
		})
	}
}

func TestCheckCertificateNotFound(t *testing.T) {
	emu := newEmu(t)
	missing := "arn:aws:acm:us-east-1:111122223333:certificate/missing"
	_, err := newClient(t, emu).CheckCertificate(context.Background(), missing, "web-api.kprod.acme.example", now)
	if !errors.Is(err, aws.ErrNotFound) {
		t.Fatalf("error %v does not match ErrNotFound", err)
	}
	if _, ok := errors.AsType[*types.ResourceNotFoundException](err); !ok {
		t.Errorf("error %v does not hold the SDK's ResourceNotFoundException", err)
	}
	if !strings.HasPrefix(err.Error(), "describe certificate "+missing+": ") {
		t.Errorf("error %q does not say what was being done", err)
	}
	if calls := emu.Calls()["acm.DescribeCertificate"]; calls != 1 {
		t.Errorf("%d calls, want 1: not found is not retried", calls)
	}
}

func TestCheckCertificateRetries(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		errType   string
		failures  int
		wantCode  string // "" for success
		wantCalls int
	}{
		{name: "throttled, then answered", status: 400, errType: "ThrottlingException", failures: 2, wantCalls: 3},
		{name: "unavailable, then answered", status: 503, errType: "ServiceUnavailable", failures: 1, wantCalls: 2},
		{name: "internal error, then answered", status: 500, errType: "InternalFailure", failures: 2, wantCalls: 3},
		{name: "throttled past the attempts: bounded at three", status: 400, errType: "ThrottlingException", failures: 5, wantCode: "ThrottlingException", wantCalls: 3},
		{name: "access denied is not retried", status: 400, errType: "AccessDeniedException", failures: 1, wantCode: "AccessDeniedException", wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			emu.AddCertificate(awsemu.Certificate{ARN: arn, DomainName: "web-api.kprod.acme.example", NotAfter: now.AddDate(1, 0, 0)})
			emu.FailNext("acm.DescribeCertificate", tt.status, tt.errType, tt.failures)
			got, err := newClient(t, emu).CheckCertificate(context.Background(), arn, "web-api.kprod.acme.example", now)
			if calls := emu.Calls()["acm.DescribeCertificate"]; calls != tt.wantCalls {
				t.Errorf("%d calls, want %d", calls, tt.wantCalls)
			}
			if tt.wantCode == "" {
				if err != nil || !got.Covers {
					t.Fatalf("CheckCertificate = %+v, %v; want a covering check", got, err)
				}
				return
			}
			if code := apiCode(err); code != tt.wantCode {
				t.Fatalf("error %v (code %q), want %q", err, code, tt.wantCode)
			}
			if errors.Is(err, aws.ErrNotFound) || !strings.HasPrefix(err.Error(), "describe certificate "+arn+": ") {
				t.Errorf("error %q", err)
			}
		})
	}
}

// TestCheckCertificateRefused: what the emulator refuses for its signature
// reaches the caller unretried.
func TestCheckCertificateRefused(t *testing.T) {
	tests := []struct {
		name     string
		mod      func(*aws.Config)
		wantCode string
	}{
		{name: "wrong secret", mod: func(c *aws.Config) { c.SecretAccessKey = "guess" }, wantCode: "InvalidSignatureException"},
		{name: "unknown access key", mod: func(c *aws.Config) { c.AccessKeyID = "AKIAOTHER" }, wantCode: "UnrecognizedClientException"},
		{name: "another region", mod: func(c *aws.Config) { c.Region = "eu-west-1" }, wantCode: "InvalidSignatureException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			emu.AddCertificate(awsemu.Certificate{ARN: arn, DomainName: "web-api.kprod.acme.example"})
			_, err := newClient(t, emu, tt.mod).CheckCertificate(context.Background(), arn, "web-api.kprod.acme.example", now)
			if code := apiCode(err); code != tt.wantCode {
				t.Fatalf("error %v (code %q), want %q", err, code, tt.wantCode)
			}
			if calls := emu.Calls()["acm.DescribeCertificate"]; calls != 1 {
				t.Errorf("%d calls, want 1", calls)
			}
		})
	}
}

// TestUnsignedRequestRejected posts what the SDK would, minus the
// signature.
func TestUnsignedRequestRejected(t *testing.T) {
	emu := newEmu(t)
	emu.AddCertificate(awsemu.Certificate{ARN: arn, DomainName: "web-api.kprod.acme.example"})
	req, err := http.NewRequest(http.MethodPost, emu.URL()+"/", strings.NewReader(`{"CertificateArn":"`+arn+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "CertificateManager.DescribeCertificate")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("X-Amzn-ErrorType") != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned request answered %d %q", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}
}

func TestCheckCertificateTimeout(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) })
	c, err := aws.New(context.Background(), aws.Config{
		Region: region, BaseEndpoint: hang.URL, AccessKeyID: key, SecretAccessKey: secret,
		Timeout: 200 * time.Millisecond, MaxBackoff: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.CheckCertificate(context.Background(), arn, "web-api.kprod.acme.example", now)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want a deadline exceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v with a 200ms timeout", d)
	}
}

func TestCheckCertificateNoARN(t *testing.T) {
	emu := newEmu(t)
	if _, err := newClient(t, emu).CheckCertificate(context.Background(), "", "web-api.kprod.acme.example", now); err == nil {
		t.Error("no error for an empty ARN")
	}
	if calls := emu.Calls(); len(calls) != 0 {
		t.Errorf("Calls = %v, want none", calls)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  aws.Config
		want string
	}{
		{name: "access key without secret", cfg: aws.Config{Region: region, AccessKeyID: key}, want: "both"},
		{name: "secret without access key", cfg: aws.Config{Region: region, SecretAccessKey: secret}, want: "both"},
		{name: "endpoint without scheme", cfg: aws.Config{Region: region, AccessKeyID: key, SecretAccessKey: secret, BaseEndpoint: "127.0.0.1:4566"}, want: "base endpoint"},
		{name: "static credentials, no region", cfg: aws.Config{AccessKeyID: key, SecretAccessKey: secret}, want: "region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := aws.New(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error about %q", err, tt.want)
			}
		})
	}
}

// TestDefaultCredentialChain: without static credentials, the region and
// credentials come from the environment, and the attempts stay bounded
// whatever AWS_MAX_ATTEMPTS says.
func TestDefaultCredentialChain(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           key,
		"AWS_SECRET_ACCESS_KEY":       secret,
		"AWS_SESSION_TOKEN":           "",
		"AWS_REGION":                  region,
		"AWS_DEFAULT_REGION":          "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ENDPOINT_URL":            "",
		"AWS_MAX_ATTEMPTS":            "10",
	} {
		t.Setenv(k, v)
	}
	emu := newEmu(t)
	emu.AddCertificate(awsemu.Certificate{ARN: arn, DomainName: "web-api.kprod.acme.example", NotAfter: now.AddDate(1, 0, 0)})
	c, err := aws.New(context.Background(), aws.Config{BaseEndpoint: emu.URL(), MaxBackoff: time.Millisecond})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	got, err := c.CheckCertificate(context.Background(), arn, "web-api.kprod.acme.example", now)
	if err != nil || !got.Covers {
		t.Fatalf("CheckCertificate = %+v, %v", got, err)
	}

	emu.ResetCalls()
	emu.FailNext("acm.DescribeCertificate", 503, "", 5)
	if _, err := c.CheckCertificate(context.Background(), arn, "web-api.kprod.acme.example", now); err == nil {
		t.Fatal("no error after 5 failures")
	}
	if calls := emu.Calls()["acm.DescribeCertificate"]; calls != aws.MaxAttempts {
		t.Errorf("%d calls, want %d despite AWS_MAX_ATTEMPTS=10", calls, aws.MaxAttempts)
	}
}
