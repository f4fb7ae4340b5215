package awsemu

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/acm"
)

func TestAuthentication(t *testing.T) {
	tests := []struct {
		name        string
		req         rawRequest
		wantType    string // "" for accepted
		wantMessage string
	}{
		{name: "signed", req: rawRequest{sign: true}},
		{name: "unsigned", req: rawRequest{}, wantType: "MissingAuthenticationTokenException"},
		{name: "unknown access key", req: rawRequest{sign: true, key: "AKIAOTHER"}, wantType: "UnrecognizedClientException"},
		{name: "wrong secret", req: rawRequest{sign: true, secret: "guess"}, wantType: "InvalidSignatureException", wantMessage: "does not match"},
		{name: "another region", req: rawRequest{sign: true, region: "us-east-1"}, wantType: "InvalidSignatureException", wantMessage: "valid region"},
		{name: "another service", req: rawRequest{sign: true, service: "route53"}, wantType: "InvalidSignatureException", wantMessage: "correct service: 'acm'"},
		{name: "signed 20 minutes ago", req: rawRequest{sign: true, signedAt: time.Now().Add(-20 * time.Minute)}, wantType: "InvalidSignatureException", wantMessage: "Signature expired"},
		{name: "signed 20 minutes ahead", req: rawRequest{sign: true, signedAt: time.Now().Add(20 * time.Minute)}, wantType: "InvalidSignatureException", wantMessage: "not yet current"},
		{name: "signed 5 minutes ago", req: rawRequest{sign: true, signedAt: time.Now().Add(-5 * time.Minute)}},
		{
			name: "body changed after signing", wantType: "InvalidSignatureException",
			req: rawRequest{sign: true, afterSign: func(r *http.Request) {
				b := `{"CertificateArn":"` + strings.Replace(testARN, "0001", "0002", 1) + `"}`
				r.Body, r.ContentLength = io.NopCloser(strings.NewReader(b)), int64(len(b))
			}},
		},
		{
			name: "signed header changed after signing", wantType: "InvalidSignatureException",
			req: rawRequest{sign: true, target: "CertificateManager.ListCertificates", body: "{}", afterSign: func(r *http.Request) {
				r.Header.Set("X-Amz-Target", "CertificateManager.ListCertificatez")
			}},
		},
		{
			name: "unsigned header added after signing",
			req: rawRequest{sign: true, afterSign: func(r *http.Request) {
				r.Header.Set("X-Forwarded-For", "10.0.0.1")
			}},
		},
		{name: "query string and escaped path are signed", req: rawRequest{sign: true, path: "/a%20b/c~d?b=2&a=1&a-b=x&a=0&s=a%20b&t=a+b&u=%2F"}},
		{
			name: "query string changed after signing", wantType: "InvalidSignatureException",
			req: rawRequest{sign: true, path: "/?a=1", afterSign: func(r *http.Request) { r.URL.RawQuery = "a=2" }},
		},
		{
			name: "unsupported algorithm", wantType: "IncompleteSignatureException",
			req: rawRequest{sign: true, afterSign: func(r *http.Request) {
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512", 1))
			}},
		},
		{
			name: "no SignedHeaders", wantType: "IncompleteSignatureException",
			req: rawRequest{sign: true, afterSign: func(r *http.Request) {
				a := r.Header.Get("Authorization")
				i, j := strings.Index(a, "SignedHeaders="), strings.Index(a, "Signature=")
				r.Header.Set("Authorization", a[:i]+a[j:])
			}},
		},
		{
			name: "no X-Amz-Date", wantType: "IncompleteSignatureException",
			req: rawRequest{sign: true, afterSign: func(r *http.Request) { r.Header.Del("X-Amz-Date") }},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			emu.AddCertificate(Certificate{ARN: testARN, DomainName: "www.example.com", NotAfter: notAfter})
			status, header, body := tt.req.do(t, emu)
			if tt.wantType == "" {
				if status != http.StatusOK {
					t.Errorf("refused: %d %s", status, body)
				}
				return
			}
			var e map[string]string
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("error body %q: %v", body, err)
			}
			if status != http.StatusBadRequest || e["__type"] != tt.wantType || header.Get("X-Amzn-ErrorType") != tt.wantType {
				t.Errorf("answer %d %s, want 400 %s", status, body, tt.wantType)
			}
			if !strings.Contains(e["message"], tt.wantMessage) {
				t.Errorf("message %q, want it to contain %q", e["message"], tt.wantMessage)
			}
		})
	}
}

// TestSDKSigning runs the SDK's own signing (and not signing) end to end.
func TestSDKSigning(t *testing.T) {
	tests := []struct {
		name     string
		opt      func(*acm.Options)
		wantCode string
	}{
		{name: "the configured credentials", opt: func(*acm.Options) {}},
		{name: "anonymous: the SDK sends no signature", opt: func(o *acm.Options) { o.Credentials = aws.AnonymousCredentials{} }, wantCode: "MissingAuthenticationTokenException"},
		{name: "another secret", opt: func(o *acm.Options) {
			o.Credentials = credentials.NewStaticCredentialsProvider(testKey, "wrong", "")
		}, wantCode: "InvalidSignatureException"},
		{name: "another region", opt: func(o *acm.Options) { o.Region = "eu-central-1" }, wantCode: "InvalidSignatureException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			emu.AddCertificate(Certificate{ARN: testARN, DomainName: "www.example.com", NotAfter: notAfter})
			_, err := newACM(t, emu, tt.opt).DescribeCertificate(context.Background(), &acm.DescribeCertificateInput{CertificateArn: aws.String(testARN)})
			wantRefused(t, emu, "acm.DescribeCertificate", err, tt.wantCode, 0)
		})
	}
}
