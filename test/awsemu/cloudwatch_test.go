package awsemu

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/fxamacker/cbor/v2"
	"github.com/google/go-cmp/cmp"
)

const (
	testALB = "app/web-api/0123456789abcdef"
	testELB = "web-api-legacy"
)

var (
	windowStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	windowEnd   = windowStart.Add(5 * time.Minute)
)

func float(v float64) *float64 { return &v }

// metricQuery is a MetricStat query for one load balancer metric.
func metricQuery(id, namespace, metric, dimension, lb, stat string) types.MetricDataQuery {
	return types.MetricDataQuery{
		Id: aws.String(id),
		MetricStat: &types.MetricStat{
			Metric: &types.Metric{
				Namespace: aws.String(namespace), MetricName: aws.String(metric),
				Dimensions: []types.Dimension{{Name: aws.String(dimension), Value: aws.String(lb)}},
			},
			Period: aws.Int32(300),
			Stat:   aws.String(stat),
		},
	}
}

// resultView is what the tests compare of a MetricDataResult.
type resultView struct {
	Label      string
	Timestamps []time.Time
	Values     []float64
	Status     string
}

func TestGetMetricData(t *testing.T) {
	emu := newEmu(t)
	emu.SetLoadBalancerMetrics(testALB, false, LoadBalancerMetrics{Requests: float(1200), Errors5xx: float(9), P95Ms: float(180)})
	emu.SetLoadBalancerMetrics(testELB, true, LoadBalancerMetrics{Requests: float(800), Errors5xx: float(2.5)})
	emu.SetLoadBalancerMetrics("app/quiet/1", false, LoadBalancerMetrics{Requests: float(10), Errors5xx: float(0)})
	const alb, elb = "AWS/ApplicationELB", "AWS/ELB"
	queries := []types.MetricDataQuery{
		metricQuery("alb_requests", alb, "RequestCount", "LoadBalancer", testALB, "Sum"),
		metricQuery("alb_target", alb, "HTTPCode_Target_5XX_Count", "LoadBalancer", testALB, "Sum"),
		metricQuery("alb_own", alb, "HTTPCode_ELB_5XX_Count", "LoadBalancer", testALB, "Sum"),
		metricQuery("alb_p95", alb, "TargetResponseTime", "LoadBalancer", testALB, "p95"),
		metricQuery("elb_requests", elb, "RequestCount", "LoadBalancerName", testELB, "Sum"),
		metricQuery("elb_backend", elb, "HTTPCode_Backend_5XX", "LoadBalancerName", testELB, "Sum"),
		metricQuery("elb_own", elb, "HTTPCode_ELB_5XX", "LoadBalancerName", testELB, "Sum"),
		metricQuery("elb_p95", elb, "Latency", "LoadBalancerName", testELB, "p95"),
		metricQuery("quiet_target", alb, "HTTPCode_Target_5XX_Count", "LoadBalancer", "app/quiet/1", "Sum"),
		metricQuery("quiet_own", alb, "HTTPCode_ELB_5XX_Count", "LoadBalancer", "app/quiet/1", "Sum"),
		metricQuery("classic_as_alb", alb, "RequestCount", "LoadBalancer", testELB, "Sum"),
		metricQuery("unknown_lb", alb, "RequestCount", "LoadBalancer", "app/other/2", "Sum"),
		metricQuery("average", alb, "RequestCount", "LoadBalancer", testALB, "Average"),
		metricQuery("labelled", alb, "RequestCount", "LoadBalancer", testALB, "Sum"),
		metricQuery("hidden", alb, "RequestCount", "LoadBalancer", testALB, "Sum"),
		metricQuery("two_dimensions", alb, "RequestCount", "LoadBalancer", testALB, "Sum"),
	}
	queries[13].Label = aws.String("web-api requests")
	queries[14].ReturnData = aws.Bool(false)
	queries[15].MetricStat.Metric.Dimensions = append(queries[15].MetricStat.Metric.Dimensions, types.Dimension{Name: aws.String("TargetGroup"), Value: aws.String("targetgroup/web/1")})

	out, err := newCloudWatch(t, emu).GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
		MetricDataQueries: queries, StartTime: aws.Time(windowStart), EndTime: aws.Time(windowEnd),
	})
	if err != nil {
		t.Fatal(err)
	}
	point := func(label string, v float64) resultView {
		return resultView{Label: label, Timestamps: []time.Time{windowStart}, Values: []float64{v}, Status: "Complete"}
	}
	none := func(label string) resultView {
		return resultView{Label: label, Timestamps: []time.Time{}, Values: []float64{}, Status: "Complete"}
	}
	want := map[string]resultView{
		"alb_requests":   point("RequestCount", 1200),
		"alb_target":     point("HTTPCode_Target_5XX_Count", 7),
		"alb_own":        point("HTTPCode_ELB_5XX_Count", 2),
		"alb_p95":        point("TargetResponseTime", 0.18),
		"elb_requests":   point("RequestCount", 800),
		"elb_backend":    point("HTTPCode_Backend_5XX", 2.5),
		"elb_own":        none("HTTPCode_ELB_5XX"),
		"elb_p95":        none("Latency"),
		"quiet_target":   point("HTTPCode_Target_5XX_Count", 0),
		"quiet_own":      none("HTTPCode_ELB_5XX_Count"),
		"classic_as_alb": none("RequestCount"),
		"unknown_lb":     none("RequestCount"),
		"average":        none("RequestCount"),
		"labelled":       point("web-api requests", 1200),
		"two_dimensions": none("RequestCount"),
	}
	got := map[string]resultView{}
	for _, r := range out.MetricDataResults {
		v := resultView{Label: aws.ToString(r.Label), Timestamps: r.Timestamps, Values: r.Values, Status: string(r.StatusCode)}
		for i := range v.Timestamps {
			v.Timestamps[i] = v.Timestamps[i].UTC()
		}
		got[aws.ToString(r.Id)] = v
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if out.NextToken != nil {
		t.Errorf("NextToken %q", *out.NextToken)
	}
}

func TestGetMetricDataInvalid(t *testing.T) {
	valid := func() *cloudwatch.GetMetricDataInput {
		return &cloudwatch.GetMetricDataInput{
			MetricDataQueries: []types.MetricDataQuery{metricQuery("a", "AWS/ApplicationELB", "RequestCount", "LoadBalancer", testALB, "Sum")},
			StartTime:         aws.Time(windowStart), EndTime: aws.Time(windowEnd),
		}
	}
	tests := []struct {
		name     string
		mod      func(*cloudwatch.GetMetricDataInput)
		wantCode string
		wantType func(error) bool // the modeled error, if any
	}{
		{name: "metric math", mod: func(in *cloudwatch.GetMetricDataInput) {
			in.MetricDataQueries = append(in.MetricDataQueries, types.MetricDataQuery{Id: aws.String("b"), Expression: aws.String("a * 2")})
		}, wantCode: "InvalidParameterValue", wantType: is[*types.InvalidParameterValueException]},
		{name: "repeated id", mod: func(in *cloudwatch.GetMetricDataInput) {
			in.MetricDataQueries = append(in.MetricDataQueries, in.MetricDataQueries[0])
		}, wantCode: "InvalidParameterValue"},
		{name: "id not starting with a lower-case letter", mod: func(in *cloudwatch.GetMetricDataInput) { in.MetricDataQueries[0].Id = aws.String("Requests") }, wantCode: "InvalidParameterValue"},
		{name: "period of 90s", mod: func(in *cloudwatch.GetMetricDataInput) { in.MetricDataQueries[0].MetricStat.Period = aws.Int32(90) }, wantCode: "InvalidParameterValue"},
		{name: "not a statistic", mod: func(in *cloudwatch.GetMetricDataInput) { in.MetricDataQueries[0].MetricStat.Stat = aws.String("Total") }, wantCode: "InvalidParameterValue"},
		{name: "start after end", mod: func(in *cloudwatch.GetMetricDataInput) { in.StartTime, in.EndTime = in.EndTime, in.StartTime }, wantCode: "InvalidParameterValue"},
		{name: "a next token the emulator never gave", mod: func(in *cloudwatch.GetMetricDataInput) { in.NextToken = aws.String("x") }, wantCode: "InvalidNextToken", wantType: is[*types.InvalidNextToken]},
		{name: "neither stat nor expression", mod: func(in *cloudwatch.GetMetricDataInput) { in.MetricDataQueries[0].MetricStat = nil }, wantCode: "InvalidParameterCombination", wantType: is[*types.InvalidParameterCombinationException]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			in := valid()
			tt.mod(in)
			_, err := newCloudWatch(t, emu).GetMetricData(context.Background(), in)
			if code := apiCode(err); code != tt.wantCode {
				t.Fatalf("error %v (code %q), want %s", err, code, tt.wantCode)
			}
			if tt.wantType != nil && !tt.wantType(err) {
				t.Errorf("error %v is not the SDK's modeled error", err)
			}
			if calls := emu.Calls()["cloudwatch.GetMetricData"]; calls != 1 {
				t.Errorf("%d calls, want 1", calls)
			}
		})
	}
}

// is reports whether err's chain holds an E.
func is[E error](err error) bool {
	_, ok := errors.AsType[E](err)
	return ok
}

func TestDescribeAlarms(t *testing.T) {
	seed := func(emu *Server) {
		emu.SetAlarm("web-api-5xx", "ALARM")
		emu.SetAlarm("web-api-latency", "OK")
		emu.SetCompositeAlarm("web-api-health", "ALARM")
		emu.SetAlarm("billing", "ALARM")
		emu.SetAlarm("web-api-nodata", "INSUFFICIENT_DATA")
	}
	both := []types.AlarmType{types.AlarmTypeMetricAlarm, types.AlarmTypeCompositeAlarm}
	tests := []struct {
		name          string
		in            cloudwatch.DescribeAlarmsInput
		wantMetric    []string
		wantComposite []string
	}{
		{name: "default: metric alarms only", wantMetric: []string{"billing", "web-api-5xx", "web-api-latency", "web-api-nodata"}},
		{name: "both kinds in ALARM", in: cloudwatch.DescribeAlarmsInput{AlarmTypes: both, StateValue: types.StateValueAlarm},
			wantMetric: []string{"billing", "web-api-5xx"}, wantComposite: []string{"web-api-health"}},
		{name: "by names", in: cloudwatch.DescribeAlarmsInput{AlarmTypes: both, AlarmNames: []string{"web-api-health", "web-api-latency", "missing"}},
			wantMetric: []string{"web-api-latency"}, wantComposite: []string{"web-api-health"}},
		{name: "by prefix in ALARM", in: cloudwatch.DescribeAlarmsInput{AlarmTypes: both, AlarmNamePrefix: aws.String("web-api-"), StateValue: types.StateValueAlarm},
			wantMetric: []string{"web-api-5xx"}, wantComposite: []string{"web-api-health"}},
		{name: "composite only", in: cloudwatch.DescribeAlarmsInput{AlarmTypes: []types.AlarmType{types.AlarmTypeCompositeAlarm}}, wantComposite: []string{"web-api-health"}},
		{name: "by action: none has actions", in: cloudwatch.DescribeAlarmsInput{ActionPrefix: aws.String("arn:aws:sns:")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			seed(emu)
			out, err := newCloudWatch(t, emu).DescribeAlarms(context.Background(), &tt.in)
			if err != nil {
				t.Fatal(err)
			}
			var metric, composite []string
			for _, a := range out.MetricAlarms {
				metric = append(metric, aws.ToString(a.AlarmName))
				if a.StateUpdatedTimestamp == nil || aws.ToString(a.AlarmArn) != "arn:aws:cloudwatch:"+testRegion+":123456789012:alarm:"+aws.ToString(a.AlarmName) {
					t.Errorf("alarm %+v", a)
				}
			}
			for _, a := range out.CompositeAlarms {
				composite = append(composite, aws.ToString(a.AlarmName))
				if a.StateValue != types.StateValueAlarm {
					t.Errorf("composite alarm state %s", a.StateValue)
				}
			}
			if diff := cmp.Diff(tt.wantMetric, metric); diff != "" {
				t.Errorf("metric alarms (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantComposite, composite); diff != "" {
				t.Errorf("composite alarms (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDescribeAlarmsPages(t *testing.T) {
	emu := newEmu(t)
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("web-api-%d", i)
		want = append(want, name)
		if i%2 == 0 {
			emu.SetCompositeAlarm(name, "ALARM")
		} else {
			emu.SetAlarm(name, "ALARM")
		}
	}
	pages := cloudwatch.NewDescribeAlarmsPaginator(newCloudWatch(t, emu), &cloudwatch.DescribeAlarmsInput{
		AlarmTypes: []types.AlarmType{types.AlarmTypeMetricAlarm, types.AlarmTypeCompositeAlarm}, MaxRecords: aws.Int32(3),
	})
	var got []string
	for pages.HasMorePages() {
		out, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n := len(out.MetricAlarms) + len(out.CompositeAlarms); n > 3 {
			t.Errorf("a page of %d alarms", n)
		}
		for _, a := range out.MetricAlarms {
			got = append(got, aws.ToString(a.AlarmName))
		}
		for _, a := range out.CompositeAlarms {
			got = append(got, aws.ToString(a.AlarmName))
		}
	}
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("alarms (-want +got):\n%s", diff)
	}
	if calls := emu.Calls()["cloudwatch.DescribeAlarms"]; calls != 3 {
		t.Errorf("%d calls, want 3", calls)
	}
}

func TestDescribeAlarmsInvalid(t *testing.T) {
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("alarm-%d", i)
	}
	tests := []struct {
		name     string
		in       cloudwatch.DescribeAlarmsInput
		wantCode string
	}{
		{name: "names and prefix", in: cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"a"}, AlarmNamePrefix: aws.String("a")}, wantCode: "InvalidParameterCombination"},
		{name: "101 names", in: cloudwatch.DescribeAlarmsInput{AlarmNames: many}, wantCode: "ValidationError"},
		{name: "not a state", in: cloudwatch.DescribeAlarmsInput{StateValue: "FIRING"}, wantCode: "ValidationError"},
		{name: "not a token", in: cloudwatch.DescribeAlarmsInput{NextToken: aws.String("nope")}, wantCode: "InvalidNextToken"},
		{name: "101 records", in: cloudwatch.DescribeAlarmsInput{MaxRecords: aws.Int32(101)}, wantCode: "ValidationError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			_, err := newCloudWatch(t, emu).DescribeAlarms(context.Background(), &tt.in)
			if code := apiCode(err); code != tt.wantCode {
				t.Errorf("error %v (code %q), want %s", err, code, tt.wantCode)
			}
		})
	}
}

func TestSetAlarmPanics(t *testing.T) {
	emu := newEmu(t)
	defer func() {
		if r := recover(); r == nil {
			t.Error("no panic for the state FIRING")
		}
	}()
	emu.SetAlarm("a", "FIRING")
}

// TestCloudWatchSigning: refusals take the Query protocol's names (in
// X-Amzn-Query-Error, which the SDK reports) and 403.
func TestCloudWatchSigning(t *testing.T) {
	tests := []struct {
		name     string
		opt      func(*cloudwatch.Options)
		wantCode string
	}{
		{name: "the configured credentials", opt: func(*cloudwatch.Options) {}},
		{name: "another region", opt: func(o *cloudwatch.Options) { o.Region = "us-east-1" }, wantCode: "SignatureDoesNotMatch"},
		{name: "another secret", opt: func(o *cloudwatch.Options) {
			o.Credentials = credentials.NewStaticCredentialsProvider(testKey, "wrong", "")
		}, wantCode: "SignatureDoesNotMatch"},
		{name: "unknown access key", opt: func(o *cloudwatch.Options) {
			o.Credentials = credentials.NewStaticCredentialsProvider("AKIAOTHER", testSecret, "")
		}, wantCode: "InvalidClientTokenId"},
		{name: "anonymous", opt: func(o *cloudwatch.Options) { o.Credentials = aws.AnonymousCredentials{} }, wantCode: "MissingAuthenticationToken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			emu.SetAlarm("a", "ALARM")
			_, err := newCloudWatch(t, emu, tt.opt).DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{})
			wantRefused(t, emu, "cloudwatch.DescribeAlarms", err, tt.wantCode, http.StatusForbidden)
		})
	}
}

func TestCloudWatchFailNext(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		errType   string
		count     int
		wantCode  string
		wantCalls int
	}{
		{name: "throttled (Throttling by default), then answered", status: 400, count: 2, wantCalls: 3},
		{name: "ThrottlingException, then answered", status: 400, errType: "ThrottlingException", count: 1, wantCalls: 2},
		{name: "internal error past the attempts", status: 500, errType: "InternalServiceFault", count: 3, wantCode: "InternalServiceError", wantCalls: 3},
		{name: "unavailable, then answered", status: 503, count: 1, wantCalls: 2},
		{name: "a modeled error by its Query code is not retried", status: 400, errType: "InvalidParameterValue", count: 1, wantCode: "InvalidParameterValue", wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			emu.FailNext("cloudwatch.GetMetricData", tt.status, tt.errType, tt.count)
			_, err := newCloudWatch(t, emu).GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
				MetricDataQueries: []types.MetricDataQuery{metricQuery("a", "AWS/ApplicationELB", "RequestCount", "LoadBalancer", testALB, "Sum")},
				StartTime:         aws.Time(windowStart), EndTime: aws.Time(windowEnd),
			})
			if code := apiCode(err); code != tt.wantCode || (tt.wantCode == "" && err != nil) {
				t.Errorf("error %v (code %q), want code %q", err, code, tt.wantCode)
			}
			if got := emu.Calls()["cloudwatch.GetMetricData"]; got != tt.wantCalls {
				t.Errorf("%d calls, want %d", got, tt.wantCalls)
			}
		})
	}
}

// TestCBORDispatch covers what the rpc-v2-cbor router answers by hand, and
// the error shape on the wire.
func TestCBORDispatch(t *testing.T) {
	cborBody := func(v any) string {
		b, err := cbor.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	smithy := http.Header{"Smithy-Protocol": {"rpc-v2-cbor"}}
	tests := []struct {
		name       string
		req        rawRequest
		wantStatus int
		wantType   string
		wantQuery  string
		wantCalls  map[string]int
	}{
		{
			name: "an operation", req: rawRequest{sign: true, path: "/service/GraniteServiceVersion20100801/operation/DescribeAlarms", target: "-",
				contentType: "application/cbor", body: cborBody(map[string]any{}), header: smithy, service: "monitoring"},
			wantStatus: 200, wantCalls: map[string]int{"cloudwatch.DescribeAlarms": 1},
		},
		{
			name: "no Smithy-Protocol", req: rawRequest{sign: true, path: "/service/GraniteServiceVersion20100801/operation/DescribeAlarms", target: "-",
				contentType: "application/cbor", body: cborBody(map[string]any{}), service: "monitoring"},
			wantStatus: 400, wantType: "SerializationException", wantQuery: "SerializationException;Sender", wantCalls: map[string]int{"cloudwatch.DescribeAlarms": 1},
		},
		{
			name: "not CBOR", req: rawRequest{sign: true, path: "/service/GraniteServiceVersion20100801/operation/DescribeAlarms", target: "-",
				contentType: "application/cbor", body: "\xff\xff", header: smithy, service: "monitoring"},
			wantStatus: 400, wantType: "SerializationException", wantQuery: "SerializationException;Sender", wantCalls: map[string]int{"cloudwatch.DescribeAlarms": 1},
		},
		{
			name: "an operation the emulator lacks", req: rawRequest{sign: true, path: "/service/GraniteServiceVersion20100801/operation/PutMetricData", target: "-",
				contentType: "application/cbor", body: cborBody(map[string]any{}), header: smithy, service: "monitoring"},
			wantStatus: 404, wantType: "UnknownOperationException", wantQuery: "UnknownOperationException;Sender", wantCalls: map[string]int{"cloudwatch.PutMetricData": 1},
		},
		{
			name: "a modeled error", req: rawRequest{sign: true, path: "/service/GraniteServiceVersion20100801/operation/DescribeAlarms", target: "-",
				contentType: "application/cbor", body: cborBody(map[string]any{"StateValue": "FIRING"}), header: smithy, service: "monitoring"},
			wantStatus: 400, wantType: "com.amazonaws.cloudwatch#ValidationException", wantQuery: "ValidationError;Sender", wantCalls: map[string]int{"cloudwatch.DescribeAlarms": 1},
		},
		{
			name: "signed for ACM", req: rawRequest{sign: true, path: "/service/GraniteServiceVersion20100801/operation/DescribeAlarms", target: "-",
				contentType: "application/cbor", body: cborBody(map[string]any{}), header: smithy},
			wantStatus: 403, wantType: "com.amazon.coral.service#InvalidSignatureException", wantQuery: "SignatureDoesNotMatch;Sender", wantCalls: map[string]int{"cloudwatch.DescribeAlarms": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			status, header, body := tt.req.do(t, emu)
			if status != tt.wantStatus {
				t.Errorf("status %d, want %d (%q)", status, tt.wantStatus, body)
			}
			if header.Get("Smithy-Protocol") != "rpc-v2-cbor" || header.Get("Content-Type") != "application/cbor" {
				t.Errorf("headers %v", header)
			}
			if tt.wantType != "" {
				var e map[string]string
				if err := cbor.Unmarshal([]byte(body), &e); err != nil {
					t.Fatalf("error body %q: %v", body, err)
				}
				if e["__type"] != tt.wantType || header.Get("X-Amzn-Query-Error") != tt.wantQuery {
					t.Errorf("error %v (X-Amzn-Query-Error %q), want %s (%s)", e, header.Get("X-Amzn-Query-Error"), tt.wantType, tt.wantQuery)
				}
			}
			if diff := cmp.Diff(tt.wantCalls, emu.Calls()); diff != "" {
				t.Errorf("Calls (-want +got):\n%s", diff)
			}
		})
	}
}
