package aws

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/acm/types"
)

// ErrNotFound is matched (errors.Is) by errors for resources AWS says do
// not exist, such as an unknown certificate ARN.
var ErrNotFound = errors.New("not found")

// CertificateCheck is what preflight reports about one certificate.
type CertificateCheck struct {
	ARN string
	// Domains are DomainName then SubjectAlternativeNames, without
	// duplicates (compared case-insensitively, ignoring a trailing dot).
	Domains  []string
	NotAfter time.Time // zero if ACM gives none (a certificate never issued)
	Status   string    // ISSUED, EXPIRED, PENDING_VALIDATION, ...
	// Covers says whether a subject alternative name matches the host, by
	// Covers. A DomainName missing from the SANs (possible for an imported
	// certificate) does not count, as TLS clients ignore the subject CN; it
	// counts only when ACM lists no SANs at all.
	Covers bool
	// Expired is true if NotAfter is before now, or Status is EXPIRED.
	// Callers still look at Status: a REVOKED or PENDING_VALIDATION one is
	// neither expired nor usable.
	Expired bool
}

// CheckCertificate describes the ACM certificate arn and checks it against
// host at time now. An unknown ARN gives an error matching ErrNotFound.
func (c *Client) CheckCertificate(ctx context.Context, arn, host string, now time.Time) (CertificateCheck, error) {
	if arn == "" {
		return CertificateCheck{}, errors.New("describe certificate: no ARN given")
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	out, err := c.acm.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: &arn})
	if err != nil {
		if _, ok := errors.AsType[*types.ResourceNotFoundException](err); ok {
			return CertificateCheck{}, fmt.Errorf("describe certificate %s: %w: %w", arn, ErrNotFound, err)
		}
		return CertificateCheck{}, fmt.Errorf("describe certificate %s: %w", arn, err)
	}
	d := out.Certificate
	if d == nil {
		return CertificateCheck{}, fmt.Errorf("describe certificate %s: the answer has no certificate", arn)
	}

	check := CertificateCheck{ARN: arn, Status: string(d.Status)}
	if d.CertificateArn != nil {
		check.ARN = *d.CertificateArn
	}
	if d.NotAfter != nil {
		check.NotAfter = *d.NotAfter
	}
	var domainName []string
	if d.DomainName != nil && *d.DomainName != "" {
		domainName = []string{*d.DomainName}
	}
	check.Domains = dedupNames(append(domainName, d.SubjectAlternativeNames...))
	sans := d.SubjectAlternativeNames
	if len(sans) == 0 {
		sans = domainName
	}
	check.Covers = Covers(sans, host)
	check.Expired = d.Status == types.CertificateStatusExpired ||
		(!check.NotAfter.IsZero() && check.NotAfter.Before(now))
	return check, nil
}

// dedupNames drops repeated names, keeping the first spelling.
func dedupNames(names []string) []string {
	seen := make(map[string]bool, len(names))
	out := make([]string, 0, len(names))
	for _, n := range names {
		k := toLowerASCII(strings.TrimSuffix(n, "."))
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, n)
	}
	return out
}
