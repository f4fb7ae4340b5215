package awsemu

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/smithy-go"
)

const (
	testRegion = "eu-west-1"
	testKey    = "AKIATESTKEY000000000"
	testSecret = "test/secret/key"
	testARN    = "arn:aws:acm:eu-west-1:111122223333:certificate/0a1b2c3d-0000-4000-8000-000000000001"
)

func newEmu(t *testing.T) *Server {
	t.Helper()
	s := New(Options{Region: testRegion, AccessKeyID: testKey, SecretAccessKey: testSecret})
	t.Cleanup(s.Close)
	return s
}

// newACM is the real SDK client, pointed at emu, with three attempts and
// millisecond backoff so that retry tests are quick.
func newACM(t *testing.T, emu *Server, optFns ...func(*acm.Options)) *acm.Client {
	t.Helper()
	return acm.NewFromConfig(sdkConfig(emu), optFns...)
}

// newRoute53 is newACM for Route53.
func newRoute53(t *testing.T, emu *Server, optFns ...func(*route53.Options)) *route53.Client {
	t.Helper()
	return route53.NewFromConfig(sdkConfig(emu), optFns...)
}

// newCloudWatch is newACM for CloudWatch.
func newCloudWatch(t *testing.T, emu *Server, optFns ...func(*cloudwatch.Options)) *cloudwatch.Client {
	t.Helper()
	return cloudwatch.NewFromConfig(sdkConfig(emu), optFns...)
}

func sdkConfig(emu *Server) aws.Config {
	return aws.Config{
		Region:       testRegion,
		Credentials:  credentials.NewStaticCredentialsProvider(testKey, testSecret, ""),
		BaseEndpoint: aws.String(emu.URL()),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.MaxBackoff = time.Millisecond
			})
		},
	}
}

// apiCode is the AWS error code of err, "" if it has none.
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// rawRequest is a request built by hand, signed (unless sign is false) with
// the SDK's own v4 signer, for what the SDK clients will not send.
type rawRequest struct {
	method, path, target, contentType, body string
	sign                                    bool
	key, secret, region, service            string
	signedAt                                time.Time
	// noBody sends no body (a GET), instead of the default one.
	noBody bool
	// header is set on the request before it is signed.
	header http.Header
	// afterSign changes the request once signed (tampering).
	afterSign func(*http.Request)
}

func (rr rawRequest) do(t *testing.T, emu *Server) (status int, header http.Header, body string) {
	t.Helper()
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&rr.method, http.MethodPost)
	def(&rr.path, "/")
	def(&rr.target, "CertificateManager.DescribeCertificate")
	def(&rr.contentType, "application/x-amz-json-1.1")
	if !rr.noBody {
		def(&rr.body, `{"CertificateArn":"`+testARN+`"}`)
	}
	def(&rr.key, testKey)
	def(&rr.secret, testSecret)
	def(&rr.region, testRegion)
	def(&rr.service, "acm")
	if rr.signedAt.IsZero() {
		rr.signedAt = time.Now()
	}
	req, err := http.NewRequest(rr.method, emu.URL()+rr.path, strings.NewReader(rr.body))
	if err != nil {
		t.Fatal(err)
	}
	if rr.target != "-" {
		req.Header.Set("X-Amz-Target", rr.target)
	}
	if !rr.noBody {
		req.Header.Set("Content-Type", rr.contentType)
	}
	for k, vs := range rr.header {
		req.Header[k] = vs
	}
	if rr.sign {
		sum := sha256.Sum256([]byte(rr.body))
		creds := aws.Credentials{AccessKeyID: rr.key, SecretAccessKey: rr.secret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), rr.service, rr.region, rr.signedAt); err != nil {
			t.Fatal(err)
		}
	}
	if rr.afterSign != nil {
		rr.afterSign(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// wantRefused checks the answer to a call signed well or badly: the error
// code wanted ("" for none) with its HTTP status (0: not checked), and the
// call made once, as a refusal is not retried.
func wantRefused(t *testing.T, emu *Server, call string, err error, wantCode string, status int) {
	t.Helper()
	if code := apiCode(err); code != wantCode || (wantCode == "" && err != nil) {
		t.Fatalf("error %v (code %q), want code %q", err, code, wantCode)
	}
	if wantCode != "" && status != 0 && httpStatus(err) != status {
		t.Errorf("status %d, want %d", httpStatus(err), status)
	}
	if got := emu.Calls()[call]; got != 1 {
		t.Errorf("%d calls, want 1: refusals are not retried", got)
	}
}
