package aws

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/migratebot/migratebot/bot"
)

var (
	_ bot.Traffic = (*Client)(nil)
	_ bot.Alarms  = (*Client)(nil)
)

// lbMetrics are where CloudWatch keeps a kind of load balancer's figures.
type lbMetrics struct {
	namespace, dimension string
	requests             string
	// targetErrors and lbErrors are the 5xx answered by the targets and by
	// the load balancer itself; a side's errors are their sum.
	targetErrors, lbErrors string
	latency                string // in seconds
}

var (
	// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html
	applicationLB = lbMetrics{"AWS/ApplicationELB", "LoadBalancer", "RequestCount", "HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count", "TargetResponseTime"}
	// https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/elb-cloudwatch-metrics.html
	classicLB = lbMetrics{"AWS/ELB", "LoadBalancerName", "RequestCount", "HTTPCode_Backend_5XX", "HTTPCode_ELB_5XX", "Latency"}
)

// sideQueries are the GetMetricData query IDs of one side's figures.
type sideQueries struct {
	requests, targetErrors, lbErrors, p95 string
}

// Measure reads what each side's load balancer served over [from, to), in
// one GetMetricData call for both (more only if CloudWatch pages its
// answer). The period is the window rounded up to a minute, so that one
// datapoint covers it; several are summed (counts) or the worst taken
// (p95). A side without a load balancer gets empty Figures. A figure with
// no datapoints is nil, but for the errors: CloudWatch publishes no zero
// 5xx counts, so a side that served requests and has no 5xx datapoints
// made 0 errors.
//
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html
func (c *Client) Measure(ctx context.Context, old, new bot.SideRef, from, to time.Time) (bot.Figures, bot.Figures, error) {
	oldFig, newFig, err := c.measure(ctx, old, new, from, to)
	if err != nil {
		var lbs []string
		for _, side := range []bot.SideRef{old, new} {
			if side.LoadBalancer != "" {
				lbs = append(lbs, side.LoadBalancer)
			}
		}
		return bot.Figures{}, bot.Figures{}, fmt.Errorf("read the CloudWatch metrics of %s from %s to %s: %w", strings.Join(lbs, " and "),
			from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), err)
	}
	return oldFig, newFig, nil
}

func (c *Client) measure(ctx context.Context, old, new bot.SideRef, from, to time.Time) (bot.Figures, bot.Figures, error) {
	if !from.Before(to) {
		return bot.Figures{}, bot.Figures{}, errors.New("the window is empty")
	}
	period := int32(min(math.Ceil(to.Sub(from).Minutes())*60, math.MaxInt32/60*60))
	var queries []types.MetricDataQuery
	var ids [2]sideQueries
	for i, side := range []bot.SideRef{old, new} {
		if side.LoadBalancer == "" {
			continue
		}
		prefix := []string{"old", "new"}[i]
		ids[i] = sideQueries{requests: prefix + "_requests", targetErrors: prefix + "_target_5xx", lbErrors: prefix + "_lb_5xx", p95: prefix + "_p95"}
		m := applicationLB
		if side.Classic {
			m = classicLB
		}
		stat := func(id, metric, stat string) types.MetricDataQuery {
			return types.MetricDataQuery{
				Id: awssdk.String(id),
				MetricStat: &types.MetricStat{
					Metric: &types.Metric{
						Namespace:  awssdk.String(m.namespace),
						MetricName: awssdk.String(metric),
						Dimensions: []types.Dimension{{Name: awssdk.String(m.dimension), Value: awssdk.String(side.LoadBalancer)}},
					},
					Period: awssdk.Int32(period),
					Stat:   awssdk.String(stat),
				},
				ReturnData: awssdk.Bool(true),
			}
		}
		queries = append(queries,
			stat(ids[i].requests, m.requests, "Sum"),
			stat(ids[i].targetErrors, m.targetErrors, "Sum"),
			stat(ids[i].lbErrors, m.lbErrors, "Sum"),
			stat(ids[i].p95, m.latency, "p95"),
		)
	}
	if len(queries) == 0 {
		return bot.Figures{}, bot.Figures{}, nil
	}

	values := map[string][]float64{}
	in := &cloudwatch.GetMetricDataInput{
		MetricDataQueries: queries,
		StartTime:         awssdk.Time(from),
		EndTime:           awssdk.Time(to),
		ScanBy:            types.ScanByTimestampAscending,
	}
	for {
		out, err := c.getMetricData(ctx, in)
		if err != nil {
			return bot.Figures{}, bot.Figures{}, err
		}
		for _, r := range out.MetricDataResults {
			switch r.StatusCode {
			case types.StatusCodeComplete, types.StatusCodePartialData:
			default:
				return bot.Figures{}, bot.Figures{}, fmt.Errorf("metric %s: status %s", awssdk.ToString(r.Id), r.StatusCode)
			}
			id := awssdk.ToString(r.Id)
			values[id] = append(values[id], r.Values...)
		}
		if out.NextToken == nil || *out.NextToken == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	var figs [2]bot.Figures
	for i, side := range []bot.SideRef{old, new} {
		if side.LoadBalancer != "" {
			figs[i] = figures(values, ids[i])
		}
	}
	return figs[0], figs[1], nil
}

func (c *Client) getMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput) (*cloudwatch.GetMetricDataOutput, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return c.cloudwatch.GetMetricData(ctx, in)
}

// figures turns one side's datapoints into its Figures.
func figures(values map[string][]float64, ids sideQueries) bot.Figures {
	var f bot.Figures
	f.Requests = sum(values[ids.requests])
	targetErrors, lbErrors := sum(values[ids.targetErrors]), sum(values[ids.lbErrors])
	if targetErrors != nil || lbErrors != nil || f.Requests != nil {
		// A missing 5xx count is a zero one, CloudWatch leaving those out.
		errs := deref(targetErrors) + deref(lbErrors)
		f.Errors = &errs
	}
	if p95 := values[ids.p95]; len(p95) > 0 {
		// Percentiles do not add up: several periods give their worst.
		// Seconds become milliseconds, rounded to the microsecond.
		ms := math.Round(slices.Max(p95)*1e6) / 1e3
		f.P95Ms = &ms
	}
	return f
}

// sum is the sum of vs; nil when there are none.
func sum(vs []float64) *float64 {
	if len(vs) == 0 {
		return nil
	}
	var s float64
	for _, v := range vs {
		s += v
	}
	return &s
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

// maxAlarmNames is the most names one DescribeAlarms call takes.
const maxAlarmNames = 100

// Firing returns, sorted and without duplicates, the metric and composite
// alarms in ALARM among names and, when prefix is not empty, among those
// whose name starts with prefix. Names that are no alarm are left out.
//
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html
func (c *Client) Firing(ctx context.Context, names []string, prefix string) ([]string, error) {
	names = slices.Compact(slices.Sorted(slices.Values(names)))
	names = slices.DeleteFunc(names, func(n string) bool { return n == "" })
	firing := map[string]bool{}
	for batch := range slices.Chunk(names, maxAlarmNames) {
		if err := c.firing(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: batch}, firing); err != nil {
			return nil, fmt.Errorf("read the CloudWatch alarms %s: %w", someNames(batch), err)
		}
	}
	if prefix != "" {
		if err := c.firing(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: &prefix}, firing); err != nil {
			return nil, fmt.Errorf("read the CloudWatch alarms named %s*: %w", prefix, err)
		}
	}
	return slices.Sorted(maps.Keys(firing)), nil
}

// someNames names a few of names, for an error.
func someNames(names []string) string {
	if len(names) <= 3 {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:3], ", "), len(names)-3)
}

// firing adds to names the alarms in ALARM that in selects, every page.
func (c *Client) firing(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, names map[string]bool) error {
	in.StateValue = types.StateValueAlarm
	// Without AlarmTypes, CloudWatch leaves composite alarms out.
	in.AlarmTypes = []types.AlarmType{types.AlarmTypeMetricAlarm, types.AlarmTypeCompositeAlarm}
	in.MaxRecords = awssdk.Int32(100)
	pages := cloudwatch.NewDescribeAlarmsPaginator(c.cloudwatch, in)
	for pages.HasMorePages() {
		out, err := c.describeAlarms(ctx, pages)
		if err != nil {
			return err
		}
		for _, a := range out.MetricAlarms {
			if a.AlarmName != nil && a.StateValue == types.StateValueAlarm {
				names[*a.AlarmName] = true
			}
		}
		for _, a := range out.CompositeAlarms {
			if a.AlarmName != nil && a.StateValue == types.StateValueAlarm {
				names[*a.AlarmName] = true
			}
		}
	}
	return nil
}

func (c *Client) describeAlarms(ctx context.Context, pages *cloudwatch.DescribeAlarmsPaginator) (*cloudwatch.DescribeAlarmsOutput, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return pages.NextPage(ctx)
}
