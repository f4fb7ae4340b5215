package aws

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/migratebot/migratebot/bot"
)

var (
	_ bot.DNSRecords   = (*Client)(nil)
	_ bot.HealthChecks = (*Client)(nil)
)

// Weights reads the weighted records named name in the hosted zone zoneID
// (with or without its /hostedzone/ prefix) and returns each one's weight
// by set identifier; a weight of 0 is kept. Records of that name without
// a set identifier and a weight (simple, failover, latency ones) are left
// out. Records of several types (A and AAAA) sharing set identifiers must
// agree on their weights. An unknown zone gives an error matching
// ErrNotFound.
//
// https://docs.aws.amazon.com/Route53/latest/APIReference/API_ListResourceRecordSets.html
func (c *Client) Weights(ctx context.Context, zoneID, name string) (map[string]int64, error) {
	weights, err := c.weights(ctx, zoneID, name)
	if err != nil {
		return nil, fmt.Errorf("read the weighted records of %s in zone %s: %w", name, zoneID, err)
	}
	return weights, nil
}

func (c *Client) weights(ctx context.Context, zoneID, name string) (map[string]int64, error) {
	want, ok := normalizeName(name)
	if !ok || zoneID == "" {
		return nil, errors.New("a zone ID and a record name are needed")
	}
	weights := map[string]int64{}
	typeOf := map[string]types.RRType{} // which type gave each identifier's weight
	in := &route53.ListResourceRecordSetsInput{HostedZoneId: &zoneID, StartRecordName: &name}
	for {
		out, err := c.listRecords(ctx, in)
		if err != nil {
			if _, ok := errors.AsType[*types.NoSuchHostedZone](err); ok {
				return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
			}
			return nil, err
		}
		// Records come sorted by name: past the first other name, none
		// of ours is left.
		for _, r := range out.ResourceRecordSets {
			if !sameRecordName(r.Name, want) {
				return weights, nil
			}
			if r.SetIdentifier == nil || r.Weight == nil {
				continue
			}
			id, w := *r.SetIdentifier, *r.Weight
			if prev, ok := weights[id]; ok && prev != w {
				return nil, fmt.Errorf("set identifier %q weighs %d in its %s record and %d in its %s one", id, prev, typeOf[id], w, r.Type)
			}
			weights[id], typeOf[id] = w, r.Type
		}
		if !out.IsTruncated || out.NextRecordName == nil || !sameRecordName(out.NextRecordName, want) {
			return weights, nil
		}
		in.StartRecordName, in.StartRecordType, in.StartRecordIdentifier = out.NextRecordName, out.NextRecordType, out.NextRecordIdentifier
	}
}

func (c *Client) listRecords(ctx context.Context, in *route53.ListResourceRecordSetsInput) (*route53.ListResourceRecordSetsOutput, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return c.route53.ListResourceRecordSets(ctx, in)
}

// sameRecordName reports whether the name Route53 answered is want (as
// normalizeName gives it), reading Route53's octal escapes (\052 for *).
func sameRecordName(got *string, want string) bool {
	if got == nil {
		return false
	}
	n, ok := normalizeName(unescapeRoute53Name(*got))
	return ok && n == want
}

// unescapeRoute53Name decodes the \ooo escapes Route53 answers for the
// characters of a name other than a-z, 0-9, '-', '_' and '.'.
func unescapeRoute53Name(name string) string {
	if !strings.Contains(name, `\`) {
		return name
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		if name[i] == '\\' && i+3 < len(name) {
			if v, err := strconv.ParseUint(name[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(name[i])
	}
	return b.String()
}

// Healthy reports whether more than half of the Route53 health checkers
// observing the health check id see its endpoint healthy (their status
// starts with "Success"). That is stricter than Route53, which routes to
// an endpoint more than 18% of its checkers see healthy: the bot asks
// whether a side is sound, not whether DNS still answers with it. A
// health check with no observations (a calculated one) is not healthy. An
// unknown health check gives an error matching ErrNotFound.
//
// https://docs.aws.amazon.com/Route53/latest/APIReference/API_GetHealthCheckStatus.html
func (c *Client) Healthy(ctx context.Context, id string) (bool, error) {
	if id == "" {
		return false, errors.New("read the status of a health check: no ID given")
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	out, err := c.route53.GetHealthCheckStatus(ctx, &route53.GetHealthCheckStatusInput{HealthCheckId: &id})
	if err != nil {
		if _, ok := errors.AsType[*types.NoSuchHealthCheck](err); ok {
			return false, fmt.Errorf("read the status of health check %s: %w: %w", id, ErrNotFound, err)
		}
		return false, fmt.Errorf("read the status of health check %s: %w", id, err)
	}
	healthy := 0
	for _, o := range out.HealthCheckObservations {
		if o.StatusReport != nil && o.StatusReport.Status != nil && strings.HasPrefix(*o.StatusReport.Status, "Success") {
			healthy++
		}
	}
	return 2*healthy > len(out.HealthCheckObservations), nil
}
