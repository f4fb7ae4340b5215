// Package aws is migratebot's adapter to AWS, on aws-sdk-go-v2. It reads
// ACM certificates, for preflight (does the certificate on the old load
// balancer cover the service's new DNS name, and is it still valid?), and
// for health summaries Route53's weighted records and health checks
// (route53.go) and CloudWatch's load balancer metrics and alarms
// (cloudwatch.go).
//
// One Client holds one aws.Config, so the clients for every service share
// its region, credentials, endpoint and retry policy.
package aws

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/route53"
)

// Config is how to reach AWS.
type Config struct {
	Region string
	// BaseEndpoint, when set, sends every call there (the emulator, or a
	// VPC endpoint); empty uses AWS's.
	BaseEndpoint string
	// Static credentials for tests and the sandbox; when empty, the
	// default chain (env, shared config, IRSA, instance role) is used via
	// config.LoadDefaultConfig. With static credentials nothing is read
	// from the environment or ~/.aws: Region must be set.
	AccessKeyID, SecretAccessKey string
	// Timeout bounds each call, retries included. Default 10s.
	Timeout time.Duration
	// Transport carries the calls (for metrics); nil keeps the SDK's.
	Transport http.RoundTripper
	// MaxBackoff caps the wait between two attempts of a call. Zero keeps
	// the SDK's (20s, which with three attempts means jittered waits of up
	// to 2s then 4s); tests set a few milliseconds.
	MaxBackoff time.Duration
}

// MaxAttempts is how many times a call is tried: retryable errors
// (throttling, 5xx, connection errors) are retried twice.
const MaxAttempts = 3

// Client calls AWS for migratebot.
type Client struct {
	timeout    time.Duration
	acm        *acm.Client
	route53    *route53.Client
	cloudwatch *cloudwatch.Client
}

// New returns a client. It makes no call to AWS: credentials from the
// default chain are fetched on first use.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if (cfg.AccessKeyID == "") != (cfg.SecretAccessKey == "") {
		return nil, errors.New("static credentials need both an access key id and a secret access key")
	}
	if cfg.BaseEndpoint != "" {
		u, err := url.Parse(cfg.BaseEndpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("base endpoint %q is not an http(s) URL", cfg.BaseEndpoint)
		}
	}

	var awsCfg awssdk.Config
	if cfg.AccessKeyID != "" {
		awsCfg = awssdk.Config{
			Region:      cfg.Region,
			Credentials: awssdk.NewCredentialsCache(credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, "")),
		}
	} else {
		var err error
		awsCfg, err = config.LoadDefaultConfig(ctx, config.WithRegion(cfg.Region))
		if err != nil {
			return nil, fmt.Errorf("load AWS config: %w", err)
		}
	}
	if awsCfg.Region == "" {
		return nil, errors.New("no AWS region: set it in the configuration (or AWS_REGION when using the default credential chain)")
	}
	if cfg.BaseEndpoint != "" {
		awsCfg.BaseEndpoint = awssdk.String(cfg.BaseEndpoint)
	}
	if cfg.Transport != nil {
		awsCfg.HTTPClient = &http.Client{Transport: cfg.Transport}
	}
	awsCfg.Retryer = func() awssdk.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = MaxAttempts
			if cfg.MaxBackoff > 0 {
				o.MaxBackoff = cfg.MaxBackoff
			}
		})
	}
	// The SDK would otherwise re-wrap the retryer with AWS_MAX_ATTEMPTS
	// or the profile's max_attempts.
	awsCfg.RetryMaxAttempts = MaxAttempts

	return &Client{
		timeout:    cfg.Timeout,
		acm:        acm.NewFromConfig(awsCfg),
		route53:    route53.NewFromConfig(awsCfg),
		cloudwatch: cloudwatch.NewFromConfig(awsCfg),
	}, nil
}
