package awsemu

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Route53, spoken in restXml under /2013-04-01/ with SigV4 signing name
// "route53". It is a global service: AWS wants its requests signed for
// us-east-1, which the emulator accepts besides its own region (the SDK
// signs for the client's region when given a BaseEndpoint).

var route53Service = &service{name: "route53", signingName: "route53", globalRegion: "us-east-1", throttling: "Throttling"}

var route53XML = &xmlService{
	svc:       route53Service,
	prefix:    "/2013-04-01/",
	namespace: route53Namespace,
	ops: []xmlOperation{
		{name: "ListResourceRecordSets", method: http.MethodGet, path: "hostedzone/{Id}/rrset", serve: (*Server).route53ListResourceRecordSets},
		{name: "GetHealthCheckStatus", method: http.MethodGet, path: "healthcheck/{HealthCheckId}/status", serve: (*Server).route53GetHealthCheckStatus},
	},
}

const route53Namespace = "https://route53.amazonaws.com/doc/2013-04-01/"

type route53State struct {
	zones  map[string]*hostedZone  // by ID, without /hostedzone/
	checks map[string]*healthCheck // by ID
}

func (r *route53State) init() {
	r.zones = map[string]*hostedZone{}
	r.checks = map[string]*healthCheck{}
}

type hostedZone struct {
	id, name string
	// records are in ListResourceRecordSets' order (recordLess).
	records []*rrset
}

// rrset is a resource record set. Names are kept lower-case, unescaped,
// with their trailing dot.
type rrset struct {
	name, typ string
	setID     string // "" for a simple record
	weight    *int64
	ttl       int64
	values    []string
}

type healthCheck struct {
	healthy, checkers int
}

// AddHostedZone adds a hosted zone with its apex NS and SOA records, as
// Route53 creates them, or empties the zone with that ID. id may carry
// the /hostedzone/ prefix the API sometimes gives.
func (s *Server) AddHostedZone(id, name string) {
	id = strings.TrimPrefix(id, "/hostedzone/")
	apex, ok := route53Name(name)
	if id == "" || !ok {
		panic(fmt.Sprintf("awsemu: AddHostedZone(%q, %q): a zone needs an ID and a valid name", id, name))
	}
	z := &hostedZone{id: id, name: apex, records: []*rrset{
		{name: apex, typ: "NS", ttl: 172800, values: []string{
			"ns-1536.awsdns-00.co.uk.", "ns-0.awsdns-00.com.", "ns-1024.awsdns-00.org.", "ns-512.awsdns-00.net.",
		}},
		{name: apex, typ: "SOA", ttl: 900, values: []string{
			"ns-1536.awsdns-00.co.uk. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400",
		}},
	}}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.route53.zones[id] = z
}

// SetWeightedRecords replaces the weighted records of name and type typ
// (A, AAAA, CNAME, ...) in the zone: one record per set identifier in
// weights, with that weight (0 to 255; 0 is kept) and the value values
// gives that identifier (an IP address, or a target name for a CNAME). An
// empty weights removes them. It panics, as Route53 would refuse the
// change, on an unknown zone, a name outside it, a weight out of range, an
// identifier without a value, a CNAME beside other types, or a simple
// record of the same name and type.
func (s *Server) SetWeightedRecords(zoneID, name, typ string, ttl int64, weights map[string]int64, values map[string]string) {
	fail := func(format string, args ...any) {
		panic(fmt.Sprintf("awsemu: SetWeightedRecords(%q, %q, %q): ", zoneID, name, typ) + fmt.Sprintf(format, args...))
	}
	n, typ, problem := recordArgs(name, typ, ttl)
	if problem != "" {
		fail("%s", problem)
	}
	var sets []*rrset
	for id, w := range weights {
		switch {
		case id == "" || len(id) > 128:
			fail("set identifier %q: 1 to 128 characters", id)
		case w < 0 || w > 255:
			fail("weight %d of %q: 0 to 255", w, id)
		case values[id] == "":
			fail("no value for %q", id)
		}
		sets = append(sets, &rrset{name: n, typ: typ, setID: id, weight: &w, ttl: ttl, values: []string{values[id]}})
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.route53.zone(zoneID)
	if z == nil {
		fail("no such hosted zone")
	}
	if !z.contains(n) {
		fail("not in zone %s", z.name)
	}
	kept := slices.DeleteFunc(slices.Clone(z.records), func(r *rrset) bool { return r.name == n && r.typ == typ && r.weight != nil })
	if len(sets) > 0 {
		for _, r := range kept {
			switch {
			case r.name != n:
			case r.typ == typ:
				fail("a simple record of that name and type exists")
			case typ == "CNAME" || r.typ == "CNAME":
				fail("a CNAME cannot share its name with other records (%s)", r.typ)
			}
		}
	}
	z.records = append(kept, sets...)
	z.sort()
}

// recordArgs checks a record's name, type and TTL as Route53 does, and
// returns the name and type as Route53 keeps them, or what is wrong.
func recordArgs(name, typ string, ttl int64) (string, string, string) {
	n, ok := route53Name(name)
	typ = strings.ToUpper(typ)
	switch {
	case !ok:
		return "", "", "not a valid name"
	case !slices.Contains(route53Types, typ):
		return "", "", "not a record type"
	case ttl < 0 || ttl > 2147483647:
		return "", "", fmt.Sprintf("TTL %d out of range", ttl)
	}
	return n, typ, ""
}

// SetRecord sets the simple (not weighted) record of name and type typ in
// the zone to values; no values removes it. It panics as
// SetWeightedRecords does.
func (s *Server) SetRecord(zoneID, name, typ string, ttl int64, values ...string) {
	fail := func(format string, args ...any) {
		panic(fmt.Sprintf("awsemu: SetRecord(%q, %q, %q): ", zoneID, name, typ) + fmt.Sprintf(format, args...))
	}
	n, typ, problem := recordArgs(name, typ, ttl)
	if problem != "" {
		fail("%s", problem)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.route53.zone(zoneID)
	if z == nil {
		fail("no such hosted zone")
	}
	if !z.contains(n) {
		fail("not in zone %s", z.name)
	}
	kept := slices.DeleteFunc(slices.Clone(z.records), func(r *rrset) bool { return r.name == n && r.typ == typ && r.setID == "" })
	if len(values) > 0 {
		for _, r := range kept {
			switch {
			case r.name != n:
			case r.typ == typ:
				fail("weighted records of that name and type exist")
			case typ == "CNAME" || r.typ == "CNAME":
				fail("a CNAME cannot share its name with other records")
			}
		}
		kept = append(kept, &rrset{name: n, typ: typ, ttl: ttl, values: slices.Clone(values)})
	}
	z.records = kept
	z.sort()
}

// route53CheckerRegions are where Route53's health checkers observe from.
var route53CheckerRegions = []string{
	"us-east-1", "us-west-1", "us-west-2", "eu-west-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "sa-east-1",
}

// SetHealthCheck creates or sets the health check id: every one of its
// eight checkers sees the endpoint healthy, or none does.
func (s *Server) SetHealthCheck(id string, healthy bool) {
	n := 0
	if healthy {
		n = len(route53CheckerRegions)
	}
	s.SetHealthCheckObservations(id, n, len(route53CheckerRegions))
}

// SetHealthCheckObservations creates or sets the health check id as seen
// by checkers checkers, the first healthy of which report success and the
// others failure.
func (s *Server) SetHealthCheckObservations(id string, healthy, checkers int) {
	if id == "" || healthy < 0 || checkers < 0 || healthy > checkers {
		panic(fmt.Sprintf("awsemu: SetHealthCheckObservations(%q, %d, %d)", id, healthy, checkers))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.route53.checks[id] = &healthCheck{healthy: healthy, checkers: checkers}
}

// zone is the hosted zone id, with or without /hostedzone/. s.mu is held.
func (r *route53State) zone(id string) *hostedZone {
	return r.zones[strings.TrimPrefix(id, "/hostedzone/")]
}

func (z *hostedZone) contains(name string) bool {
	return name == z.name || strings.HasSuffix(name, "."+z.name)
}

func (z *hostedZone) sort() {
	slices.SortFunc(z.records, func(a, b *rrset) int { return compareRecords(a.name, a.typ, a.setID, b.name, b.typ, b.setID) })
}

// compareRecords orders records as ListResourceRecordSets lists them: by
// name with its labels reversed (com.example.www), then type, then set
// identifier. An empty type or identifier comes first, so that a start
// position without them begins at the name's (or type's) first record.
func compareRecords(aName, aType, aID, bName, bType, bID string) int {
	if c := slices.Compare(reversedLabels(aName), reversedLabels(bName)); c != 0 {
		return c
	}
	if c := strings.Compare(aType, bType); c != 0 {
		return c
	}
	return strings.Compare(aID, bID)
}

func reversedLabels(name string) []string {
	labels := strings.Split(strings.TrimSuffix(name, "."), ".")
	slices.Reverse(labels)
	return labels
}

// route53Types are the record types Route53 serves.
var route53Types = []string{"A", "AAAA", "CAA", "CNAME", "DS", "HTTPS", "MX", "NAPTR", "NS", "PTR", "SOA", "SPF", "SRV", "SSHFP", "SVCB", "TLSA", "TXT"}

// route53Name is name as Route53 keeps it: octal escapes (\052) decoded,
// lower case, with a trailing dot. ok is false for an empty name or label.
func route53Name(name string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '\\' && i+3 < len(name) {
			if v, err := strconv.ParseUint(name[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	n := strings.TrimSuffix(b.String(), ".")
	if n == "" || slices.Contains(strings.Split(n, "."), "") {
		return "", false
	}
	return n + ".", true
}

// escapeRoute53Name is name as Route53 answers it: every character but a-z,
// 0-9, '-', '_' and '.' as an octal escape (*.example.com. is
// \052.example.com.).
func escapeRoute53Name(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "\\%03o", c)
	}
	return b.String()
}

// The restXml documents of Route53's outputs.
type (
	r53ListResourceRecordSetsResponse struct {
		XMLName            xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListResourceRecordSetsResponse"`
		ResourceRecordSets struct {
			Items []r53ResourceRecordSet `xml:"ResourceRecordSet"`
		}
		IsTruncated          bool
		NextRecordName       string `xml:",omitempty"`
		NextRecordType       string `xml:",omitempty"`
		NextRecordIdentifier string `xml:",omitempty"`
		MaxItems             string
	}
	r53ResourceRecordSet struct {
		Name          string
		Type          string
		SetIdentifier string `xml:",omitempty"`
		// Weight is a pointer so that 0 is sent: it is a real weight.
		Weight          *int64 `xml:",omitempty"`
		TTL             int64
		ResourceRecords []r53ResourceRecord `xml:"ResourceRecords>ResourceRecord"`
	}
	r53ResourceRecord struct {
		Value string
	}
	r53GetHealthCheckStatusResponse struct {
		XMLName      xml.Name                    `xml:"https://route53.amazonaws.com/doc/2013-04-01/ GetHealthCheckStatusResponse"`
		Observations []r53HealthCheckObservation `xml:"HealthCheckObservations>HealthCheckObservation"`
	}
	r53HealthCheckObservation struct {
		Region       string
		IPAddress    string
		StatusReport struct {
			Status      string
			CheckedTime string
		}
	}
)

// route53MaxItems is the most records one ListResourceRecordSets answers.
const route53MaxItems = 300

func errInvalidInput(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidInput", fmt.Sprintf(format, args...)}
}

func (s *Server) route53ListResourceRecordSets(labels map[string]string, q url.Values) (any, *apiError) {
	zoneID := labels["Id"]
	name, typ, ident := q.Get("name"), q.Get("type"), q.Get("identifier")
	maxItems := route53MaxItems
	if v := q.Get("maxitems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, errInvalidInput("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must be a positive integer", v)
		}
		maxItems = min(n, route53MaxItems)
	}
	if typ != "" && name == "" {
		return nil, errInvalidInput("The input is not valid: a record type needs a record name (StartRecordName)")
	}
	if ident != "" && typ == "" {
		return nil, errInvalidInput("The input is not valid: a set identifier needs a record name and type")
	}
	if typ != "" && !slices.Contains(route53Types, typ) {
		return nil, errInvalidInput("1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [%s]", typ, strings.Join(route53Types, ", "))
	}
	var start string
	if name != "" {
		n, ok := route53Name(name)
		if !ok {
			return nil, errInvalidInput("Invalid name: %s", name)
		}
		start = n
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.route53.zone(zoneID)
	if z == nil {
		return nil, &apiError{http.StatusNotFound, "NoSuchHostedZone", "No hosted zone found with ID: " + zoneID}
	}
	first := 0
	if start != "" {
		first, _ = slices.BinarySearchFunc(z.records, start, func(r *rrset, _ string) int {
			return compareRecords(r.name, r.typ, r.setID, start, typ, ident)
		})
	}
	end := min(first+maxItems, len(z.records))
	out := r53ListResourceRecordSetsResponse{MaxItems: strconv.Itoa(maxItems)}
	for _, r := range z.records[first:end] {
		set := r53ResourceRecordSet{Name: escapeRoute53Name(r.name), Type: r.typ, SetIdentifier: r.setID, Weight: r.weight, TTL: r.ttl}
		for _, v := range r.values {
			set.ResourceRecords = append(set.ResourceRecords, r53ResourceRecord{Value: v})
		}
		out.ResourceRecordSets.Items = append(out.ResourceRecordSets.Items, set)
	}
	if end < len(z.records) {
		next := z.records[end]
		out.IsTruncated = true
		out.NextRecordName, out.NextRecordType, out.NextRecordIdentifier = escapeRoute53Name(next.name), next.typ, next.setID
	}
	return out, nil
}

func (s *Server) route53GetHealthCheckStatus(labels map[string]string, _ url.Values) (any, *apiError) {
	id := labels["HealthCheckId"]
	if len(id) > 64 {
		return nil, errInvalidInput("1 validation error detected: Value '%s' at 'healthCheckId' failed to satisfy constraint: Member must have length less than or equal to 64", id)
	}
	s.mu.Lock()
	hc := s.route53.checks[id]
	s.mu.Unlock()
	if hc == nil {
		return nil, &apiError{http.StatusNotFound, "NoSuchHealthCheck", fmt.Sprintf("A health check with id %s does not exist.", id)}
	}
	now := s.now().UTC().Truncate(time.Second)
	out := r53GetHealthCheckStatusResponse{Observations: []r53HealthCheckObservation{}}
	for i := range hc.checkers {
		var o r53HealthCheckObservation
		o.Region = route53CheckerRegions[i%len(route53CheckerRegions)]
		o.IPAddress = fmt.Sprintf("15.177.%d.%d", i%len(route53CheckerRegions)*8, 10+i/len(route53CheckerRegions))
		o.StatusReport.Status = "Failure: HTTP Status Code 503, Service Unavailable. Resolved IP: 192.0.2.10"
		if i < hc.healthy {
			o.StatusReport.Status = "Success: HTTP Status Code 200, OK"
		}
		o.StatusReport.CheckedTime = now.Add(-time.Duration(i) * time.Second).Format("2006-01-02T15:04:05.000Z")
		out.Observations = append(out.Observations, o)
	}
	return out, nil
}
