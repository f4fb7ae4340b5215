package awsemu

import (
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// CloudWatch, spoken in rpc-v2-cbor (service shape
// GraniteServiceVersion20100801, awsQueryCompatible) with SigV4 signing
// name "monitoring". It serves the load balancer metrics a test sets
// (GetMetricData: MetricStat queries, no metric math) and the alarms a test
// sets (DescribeAlarms).

var cloudwatchService = &service{name: "cloudwatch", signingName: "monitoring", throttling: "Throttling"}

var cloudwatchCBOR = &cborService{
	svc:         cloudwatchService,
	serviceName: "GraniteServiceVersion20100801",
	namespace:   "com.amazonaws.cloudwatch",
	// The awsQueryError codes of CloudWatch's error shapes.
	queryErrors: map[string]string{
		"ConcurrentModificationException":      "ConcurrentModificationException",
		"DashboardInvalidInputError":           "InvalidParameterInput",
		"DashboardNotFoundError":               "ResourceNotFound",
		"InternalServiceFault":                 "InternalServiceError",
		"InvalidFormatFault":                   "InvalidFormat",
		"InvalidNextToken":                     "InvalidNextToken",
		"InvalidParameterCombinationException": "InvalidParameterCombination",
		"InvalidParameterValueException":       "InvalidParameterValue",
		"LimitExceededException":               "LimitExceededException",
		"LimitExceededFault":                   "LimitExceeded",
		"MissingRequiredParameterException":    "MissingParameter",
		"ResourceConflict":                     "ResourceConflict",
		"ResourceNotFound":                     "ResourceNotFound",
		"ResourceNotFoundException":            "ResourceNotFoundException",
		"ValidationException":                  "ValidationError",
	},
	ops: map[string]cborHandler{
		"GetMetricData":  (*Server).cwGetMetricData,
		"DescribeAlarms": (*Server).cwDescribeAlarms,
	},
}

// LoadBalancerMetrics are what a load balancer served, as CloudWatch
// reports it for any window asked. A nil field has no datapoints.
type LoadBalancerMetrics struct {
	// Requests is RequestCount's Sum.
	Requests *float64
	// Errors5xx is the sum of the targets' (HTTPCode_Target_5XX_Count, or
	// HTTPCode_Backend_5XX for a classic load balancer) and the load
	// balancer's own (HTTPCode_ELB_5XX_Count, HTTPCode_ELB_5XX) 5xx. A whole
	// number is split: a quarter (rounded down) to the load balancer, the
	// rest to the targets; a fraction all goes to the targets. A share of 0
	// of the load balancer's has no datapoints, as CloudWatch publishes no
	// zero counts; the targets' always has one.
	Errors5xx *float64
	// P95Ms is the p95 of TargetResponseTime (Latency for a classic load
	// balancer), reported in seconds.
	P95Ms *float64
}

// lbMetricNames are a kind of load balancer's namespace, dimension and
// metrics.
type lbMetricNames struct {
	namespace, dimension                      string
	requests, targetErrors, lbErrors, latency string
}

var (
	albMetricNames = lbMetricNames{"AWS/ApplicationELB", "LoadBalancer", "RequestCount", "HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count", "TargetResponseTime"}
	elbMetricNames = lbMetricNames{"AWS/ELB", "LoadBalancerName", "RequestCount", "HTTPCode_Backend_5XX", "HTTPCode_ELB_5XX", "Latency"}
)

type cloudwatchState struct {
	lbs    map[lbKey]LoadBalancerMetrics
	alarms map[string]*cwAlarm
}

func (c *cloudwatchState) init() {
	c.lbs = map[lbKey]LoadBalancerMetrics{}
	c.alarms = map[string]*cwAlarm{}
}

type lbKey struct {
	name    string
	classic bool
}

type cwAlarm struct {
	name, state string
	composite   bool
	updated     time.Time
}

// SetLoadBalancerMetrics sets what CloudWatch reports for loadBalancer: an
// application load balancer's LoadBalancer dimension ("app/web/0123abcd")
// in AWS/ApplicationELB, or when classic a classic one's LoadBalancerName
// in AWS/ELB. Every GetMetricData query for one of its metrics (Sum of the
// counts, p95 of the latency; other statistics have no data) answers one
// datapoint, at the query's StartTime, whatever the period.
func (s *Server) SetLoadBalancerMetrics(loadBalancer string, classic bool, m LoadBalancerMetrics) {
	clone := func(p *float64) *float64 {
		if p == nil {
			return nil
		}
		v := *p
		return &v
	}
	m = LoadBalancerMetrics{Requests: clone(m.Requests), Errors5xx: clone(m.Errors5xx), P95Ms: clone(m.P95Ms)}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cw.lbs[lbKey{loadBalancer, classic}] = m
}

// SetAlarm creates or sets the metric alarm name to state: OK, ALARM or
// INSUFFICIENT_DATA. A composite alarm of that name becomes a metric one.
func (s *Server) SetAlarm(name, state string) { s.setAlarm(name, state, false) }

// SetCompositeAlarm is SetAlarm for a composite alarm.
func (s *Server) SetCompositeAlarm(name, state string) { s.setAlarm(name, state, true) }

func (s *Server) setAlarm(name, state string, composite bool) {
	if name == "" || len(name) > 255 || !slices.Contains(cwStates, state) {
		panic(fmt.Sprintf("awsemu: SetAlarm(%q, %q): a name of 1 to 255 characters and a state of %v", name, state, cwStates))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.cw.alarms[name]
	if a == nil || a.state != state || a.composite != composite {
		s.cw.alarms[name] = &cwAlarm{name: name, state: state, composite: composite, updated: s.now().UTC().Truncate(time.Second)}
	}
}

var cwStates = []string{"OK", "ALARM", "INSUFFICIENT_DATA"}

// The CBOR shapes of CloudWatch's inputs and outputs.
type (
	cwGetMetricDataInput struct {
		MetricDataQueries []cwMetricDataQuery `cbor:"MetricDataQueries"`
		StartTime         *time.Time          `cbor:"StartTime"`
		EndTime           *time.Time          `cbor:"EndTime"`
		NextToken         *string             `cbor:"NextToken"`
		ScanBy            string              `cbor:"ScanBy"`
		MaxDatapoints     *int32              `cbor:"MaxDatapoints"`
	}
	cwMetricDataQuery struct {
		ID         *string       `cbor:"Id"`
		MetricStat *cwMetricStat `cbor:"MetricStat"`
		Expression *string       `cbor:"Expression"`
		Label      *string       `cbor:"Label"`
		ReturnData *bool         `cbor:"ReturnData"`
	}
	cwMetricStat struct {
		Metric *cwMetric `cbor:"Metric"`
		Period *int32    `cbor:"Period"`
		Stat   *string   `cbor:"Stat"`
		Unit   string    `cbor:"Unit"`
	}
	cwMetric struct {
		Namespace  *string       `cbor:"Namespace"`
		MetricName *string       `cbor:"MetricName"`
		Dimensions []cwDimension `cbor:"Dimensions"`
	}
	cwDimension struct {
		Name  string `cbor:"Name"`
		Value string `cbor:"Value"`
	}
	cwMetricDataResult struct {
		ID         string     `cbor:"Id"`
		Label      string     `cbor:"Label"`
		Timestamps []cborTime `cbor:"Timestamps"`
		Values     []float64  `cbor:"Values"`
		StatusCode string     `cbor:"StatusCode"`
	}
	cwGetMetricDataOutput struct {
		MetricDataResults []cwMetricDataResult `cbor:"MetricDataResults"`
		Messages          []struct{}           `cbor:"Messages"`
	}

	cwDescribeAlarmsInput struct {
		ActionPrefix        *string  `cbor:"ActionPrefix"`
		AlarmNamePrefix     *string  `cbor:"AlarmNamePrefix"`
		AlarmNames          []string `cbor:"AlarmNames"`
		AlarmTypes          []string `cbor:"AlarmTypes"`
		ChildrenOfAlarmName *string  `cbor:"ChildrenOfAlarmName"`
		ParentsOfAlarmName  *string  `cbor:"ParentsOfAlarmName"`
		MaxRecords          *int32   `cbor:"MaxRecords"`
		NextToken           *string  `cbor:"NextToken"`
		StateValue          *string  `cbor:"StateValue"`
	}
	cwMetricAlarm struct {
		AlarmName                          string   `cbor:"AlarmName"`
		AlarmArn                           string   `cbor:"AlarmArn"`
		ActionsEnabled                     bool     `cbor:"ActionsEnabled"`
		OKActions                          []string `cbor:"OKActions"`
		AlarmActions                       []string `cbor:"AlarmActions"`
		InsufficientDataActions            []string `cbor:"InsufficientDataActions"`
		StateValue                         string   `cbor:"StateValue"`
		StateReason                        string   `cbor:"StateReason"`
		StateUpdatedTimestamp              cborTime `cbor:"StateUpdatedTimestamp"`
		StateTransitionedTimestamp         cborTime `cbor:"StateTransitionedTimestamp"`
		AlarmConfigurationUpdatedTimestamp cborTime `cbor:"AlarmConfigurationUpdatedTimestamp"`
	}
	cwCompositeAlarm struct {
		AlarmName                          string   `cbor:"AlarmName"`
		AlarmArn                           string   `cbor:"AlarmArn"`
		AlarmRule                          string   `cbor:"AlarmRule"`
		ActionsEnabled                     bool     `cbor:"ActionsEnabled"`
		OKActions                          []string `cbor:"OKActions"`
		AlarmActions                       []string `cbor:"AlarmActions"`
		InsufficientDataActions            []string `cbor:"InsufficientDataActions"`
		StateValue                         string   `cbor:"StateValue"`
		StateReason                        string   `cbor:"StateReason"`
		StateUpdatedTimestamp              cborTime `cbor:"StateUpdatedTimestamp"`
		StateTransitionedTimestamp         cborTime `cbor:"StateTransitionedTimestamp"`
		AlarmConfigurationUpdatedTimestamp cborTime `cbor:"AlarmConfigurationUpdatedTimestamp"`
	}
	cwDescribeAlarmsOutput struct {
		MetricAlarms    []cwMetricAlarm    `cbor:"MetricAlarms"`
		CompositeAlarms []cwCompositeAlarm `cbor:"CompositeAlarms"`
		NextToken       string             `cbor:"NextToken,omitempty"`
	}
)

func errInvalidParameterValue(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidParameterValueException", fmt.Sprintf(format, args...)}
}

func errMissingParameter(name string) *apiError {
	return &apiError{http.StatusBadRequest, "MissingRequiredParameterException", fmt.Sprintf("The parameter %s is required.", name)}
}

var (
	cwQueryID = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)
	cwStat    = regexp.MustCompile(`^(SampleCount|Average|Sum|Minimum|Maximum|p100|(p|tm|wm|tc|ts)[0-9]{1,2}(\.[0-9]{1,10})?)$`)
)

func (s *Server) cwGetMetricData(body []byte) (any, *apiError) {
	var in cwGetMetricDataInput
	if e := decodeCBOR(body, &in); e != nil {
		return nil, e
	}
	switch {
	case in.StartTime == nil:
		return nil, errMissingParameter("StartTime")
	case in.EndTime == nil:
		return nil, errMissingParameter("EndTime")
	case len(in.MetricDataQueries) == 0:
		return nil, errMissingParameter("MetricDataQueries")
	case len(in.MetricDataQueries) > 500:
		return nil, &apiError{http.StatusBadRequest, "ValidationException", "1 validation error detected: Value at 'metricDataQueries' failed to satisfy constraint: Member must have length less than or equal to 500"}
	case !in.StartTime.Before(*in.EndTime):
		return nil, errInvalidParameterValue("The parameter StartTime must be less than the parameter EndTime.")
	case in.NextToken != nil:
		return nil, &apiError{http.StatusBadRequest, "InvalidNextToken", "The service couldn't process your request because the NextToken is not valid."}
	case in.ScanBy != "" && in.ScanBy != "TimestampDescending" && in.ScanBy != "TimestampAscending":
		return nil, &apiError{http.StatusBadRequest, "ValidationException", fmt.Sprintf("1 validation error detected: Value '%s' at 'scanBy' failed to satisfy constraint: Member must satisfy enum value set: [TimestampDescending, TimestampAscending]", in.ScanBy)}
	}
	seen := map[string]bool{}
	for i, q := range in.MetricDataQueries {
		member := fmt.Sprintf("MetricDataQueries.member.%d", i+1)
		switch {
		case q.ID == nil:
			return nil, errMissingParameter(member + ".Id")
		case !cwQueryID.MatchString(*q.ID) || len(*q.ID) > 255:
			return nil, errInvalidParameterValue("The value %s for parameter %s.Id is not valid: it must start with a lowercase letter and contain only letters, numbers and underscores.", *q.ID, member)
		case seen[*q.ID]:
			return nil, errInvalidParameterValue("The values for parameter id in MetricDataQueries are not unique.")
		case (q.MetricStat == nil) == (q.Expression == nil):
			return nil, &apiError{http.StatusBadRequest, "InvalidParameterCombinationException", fmt.Sprintf("%s needs exactly one of MetricStat and Expression.", member)}
		case q.Expression != nil:
			return nil, errInvalidParameterValue("awsemu: metric math (%s.Expression) is not emulated", member)
		case q.MetricStat.Metric == nil || q.MetricStat.Metric.MetricName == nil || q.MetricStat.Metric.Namespace == nil:
			return nil, errMissingParameter(member + ".MetricStat.Metric")
		case q.MetricStat.Period == nil:
			return nil, errMissingParameter(member + ".MetricStat.Period")
		case q.MetricStat.Stat == nil:
			return nil, errMissingParameter(member + ".MetricStat.Stat")
		}
		seen[*q.ID] = true
		if p := *q.MetricStat.Period; p < 1 || p%60 != 0 && p != 1 && p != 5 && p != 10 && p != 30 {
			return nil, errInvalidParameterValue("The parameter %s.MetricStat.Period must be 1, 5, 10, 30 or a multiple of 60.", member)
		}
		if !cwStat.MatchString(*q.MetricStat.Stat) {
			return nil, errInvalidParameterValue("The parameter %s.MetricStat.Stat (%s) is not a valid statistic.", member, *q.MetricStat.Stat)
		}
	}

	out := cwGetMetricDataOutput{MetricDataResults: []cwMetricDataResult{}, Messages: []struct{}{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range in.MetricDataQueries {
		if q.ReturnData != nil && !*q.ReturnData {
			continue
		}
		r := cwMetricDataResult{ID: *q.ID, Label: *q.MetricStat.Metric.MetricName, Timestamps: []cborTime{}, Values: []float64{}, StatusCode: "Complete"}
		if q.Label != nil {
			r.Label = *q.Label
		}
		if v, ok := s.cw.datapoint(q.MetricStat); ok {
			r.Timestamps = append(r.Timestamps, cborTime(*in.StartTime))
			r.Values = append(r.Values, v)
		}
		out.MetricDataResults = append(out.MetricDataResults, r)
	}
	return out, nil
}

// datapoint is the value the load balancer a metric stat names has for
// it, if any. s.mu is held.
func (c *cloudwatchState) datapoint(st *cwMetricStat) (float64, bool) {
	m := st.Metric
	if len(m.Dimensions) != 1 {
		return 0, false // CloudWatch matches the whole set of dimensions
	}
	names, classic := albMetricNames, false
	if *m.Namespace == elbMetricNames.namespace {
		names, classic = elbMetricNames, true
	}
	if *m.Namespace != names.namespace || m.Dimensions[0].Name != names.dimension {
		return 0, false
	}
	lb, ok := c.lbs[lbKey{m.Dimensions[0].Value, classic}]
	if !ok {
		return 0, false
	}
	value := func(p *float64) (float64, bool) {
		if p == nil {
			return 0, false
		}
		return *p, true
	}
	stat := *st.Stat
	switch metric := *m.MetricName; {
	case metric == names.requests && stat == "Sum":
		return value(lb.Requests)
	case metric == names.targetErrors && stat == "Sum" && lb.Errors5xx != nil:
		targets, _ := split5xx(*lb.Errors5xx)
		return targets, true
	case metric == names.lbErrors && stat == "Sum" && lb.Errors5xx != nil:
		_, own := split5xx(*lb.Errors5xx)
		return own, own != 0
	case metric == names.latency && stat == "p95" && lb.P95Ms != nil:
		return *lb.P95Ms / 1000, true
	}
	return 0, false
}

// split5xx splits a load balancer's 5xx between its targets and itself,
// keeping the sum exact.
func split5xx(v float64) (targets, own float64) {
	if v == math.Trunc(v) && v >= 0 {
		own = math.Floor(v / 4)
	}
	return v - own, own
}

func (s *Server) cwDescribeAlarms(body []byte) (any, *apiError) {
	var in cwDescribeAlarmsInput
	if e := decodeCBOR(body, &in); e != nil {
		return nil, e
	}
	limit := 50
	if in.MaxRecords != nil {
		if *in.MaxRecords < 1 || *in.MaxRecords > 100 {
			return nil, &apiError{http.StatusBadRequest, "ValidationException", fmt.Sprintf("1 validation error detected: Value '%d' at 'maxRecords' failed to satisfy constraint: Member must have value between 1 and 100", *in.MaxRecords)}
		}
		limit = int(*in.MaxRecords)
	}
	switch {
	case len(in.AlarmNames) > 100:
		return nil, &apiError{http.StatusBadRequest, "ValidationException", "1 validation error detected: Value at 'alarmNames' failed to satisfy constraint: Member must have length less than or equal to 100"}
	case in.StateValue != nil && !slices.Contains(cwStates, *in.StateValue):
		return nil, &apiError{http.StatusBadRequest, "ValidationException", fmt.Sprintf("1 validation error detected: Value '%s' at 'stateValue' failed to satisfy constraint: Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]", *in.StateValue)}
	case in.AlarmNamePrefix != nil && len(in.AlarmNames) > 0:
		return nil, &apiError{http.StatusBadRequest, "InvalidParameterCombinationException", "AlarmNamePrefix and AlarmNames cannot be given together."}
	case in.ChildrenOfAlarmName != nil || in.ParentsOfAlarmName != nil:
		return nil, errInvalidParameterValue("awsemu: ChildrenOfAlarmName and ParentsOfAlarmName are not emulated")
	}
	types := in.AlarmTypes
	if len(types) == 0 {
		types = []string{"MetricAlarm"} // CloudWatch's default, composite alarms left out
	}
	for _, t := range types {
		if t != "MetricAlarm" && t != "CompositeAlarm" && t != "LogAlarm" {
			return nil, &apiError{http.StatusBadRequest, "ValidationException", fmt.Sprintf("1 validation error detected: Value '%s' at 'alarmTypes' failed to satisfy constraint: Member must satisfy enum value set: [CompositeAlarm, LogAlarm, MetricAlarm]", t)}
		}
	}
	start := 0
	if in.NextToken != nil {
		n, err := decodeNextToken(*in.NextToken)
		if err != nil {
			return nil, &apiError{http.StatusBadRequest, "InvalidNextToken", "The service couldn't process your request because the NextToken is not valid."}
		}
		start = n
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var matched []*cwAlarm
	for _, a := range s.cw.alarms {
		switch {
		case a.composite && !slices.Contains(types, "CompositeAlarm"), !a.composite && !slices.Contains(types, "MetricAlarm"):
		case len(in.AlarmNames) > 0 && !slices.Contains(in.AlarmNames, a.name):
		case in.AlarmNamePrefix != nil && !strings.HasPrefix(a.name, *in.AlarmNamePrefix):
		case in.StateValue != nil && a.state != *in.StateValue:
		case in.ActionPrefix != nil: // the emulator's alarms have no actions
		default:
			matched = append(matched, a)
		}
	}
	slices.SortFunc(matched, func(a, b *cwAlarm) int { return strings.Compare(a.name, b.name) })
	start = min(start, len(matched))
	end := min(start+limit, len(matched))
	out := cwDescribeAlarmsOutput{MetricAlarms: []cwMetricAlarm{}, CompositeAlarms: []cwCompositeAlarm{}}
	for _, a := range matched[start:end] {
		arn := fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", s.opts.Region, s.opts.AccountID, a.name)
		reason := "awsemu: set to " + a.state
		at := cborTime(a.updated)
		if a.composite {
			out.CompositeAlarms = append(out.CompositeAlarms, cwCompositeAlarm{
				AlarmName: a.name, AlarmArn: arn, AlarmRule: "FALSE", ActionsEnabled: true,
				OKActions: []string{}, AlarmActions: []string{}, InsufficientDataActions: []string{},
				StateValue: a.state, StateReason: reason,
				StateUpdatedTimestamp: at, StateTransitionedTimestamp: at, AlarmConfigurationUpdatedTimestamp: at,
			})
			continue
		}
		out.MetricAlarms = append(out.MetricAlarms, cwMetricAlarm{
			AlarmName: a.name, AlarmArn: arn, ActionsEnabled: true,
			OKActions: []string{}, AlarmActions: []string{}, InsufficientDataActions: []string{},
			StateValue: a.state, StateReason: reason,
			StateUpdatedTimestamp: at, StateTransitionedTimestamp: at, AlarmConfigurationUpdatedTimestamp: at,
		})
	}
	if end < len(matched) {
		out.NextToken = encodeNextToken(end)
	}
	return out, nil
}
