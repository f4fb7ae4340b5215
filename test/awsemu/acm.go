package awsemu

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ACM (AWS Certificate Manager), spoken in awsJson 1.1 with target prefix
// CertificateManager and SigV4 signing name "acm".

var acmService = &service{name: "acm", signingName: "acm"}

var acmJSON = &jsonService{
	svc:          acmService,
	targetPrefix: "CertificateManager",
	version:      "1.1",
	ops: map[string]jsonHandler{
		"DescribeCertificate": (*Server).acmDescribeCertificate,
		"ListCertificates":    (*Server).acmListCertificates,
	},
}

// Certificate is an ACM certificate as a test seeds it. Only DomainName is
// required; the rest default as noted.
type Certificate struct {
	// ARN defaults to a fresh arn:aws:acm:<region>:<account>:certificate/<uuid>.
	ARN        string
	DomainName string
	// SANs are the SubjectAlternativeNames as ACM reports them. Nil means
	// [DomainName], as for every certificate ACM issues; an imported
	// certificate may list names without its DomainName (its subject CN).
	SANs []string
	// NotBefore defaults to 395 days before NotAfter (ACM's validity);
	// both stay unset (omitted from answers, as for a certificate pending
	// validation) when NotAfter is zero.
	NotBefore, NotAfter time.Time
	// Status is ISSUED (the default), PENDING_VALIDATION, INACTIVE,
	// EXPIRED, VALIDATION_TIMED_OUT, REVOKED or FAILED. The emulator
	// reports it as given and never derives it from NotAfter.
	Status string
	// Type is AMAZON_ISSUED (the default), IMPORTED or PRIVATE.
	Type string
	// KeyAlgorithm is RSA_2048 (the default), EC_prime256v1, ... Like ACM,
	// ListCertificates returns only RSA_2048 certificates unless asked for
	// other key types in Includes.keyTypes.
	KeyAlgorithm string
	// InUseBy are the ARNs of the load balancers (or distributions) using it.
	InUseBy []string
	// CreatedAt defaults to NotBefore. It is ImportedAt for IMPORTED ones.
	CreatedAt time.Time
}

type acmState struct {
	certs map[string]*Certificate // by ARN
	order []string                // ARNs, first added first
}

func (a *acmState) init() { a.certs = map[string]*Certificate{} }

// AddCertificate adds c, or replaces the certificate with c's ARN (keeping
// its place in ListCertificates), and returns c's ARN. It panics without a
// DomainName or SANs.
func (s *Server) AddCertificate(c Certificate) string {
	if c.DomainName == "" && len(c.SANs) > 0 {
		c.DomainName = c.SANs[0]
	}
	if c.DomainName == "" {
		panic("awsemu: AddCertificate: a certificate needs a DomainName")
	}
	if c.ARN == "" {
		c.ARN = fmt.Sprintf("arn:aws:acm:%s:%s:certificate/%s", s.opts.Region, s.opts.AccountID, uuid.NewString())
	}
	if c.SANs == nil {
		c.SANs = []string{c.DomainName}
	}
	c.SANs = slices.Clone(c.SANs)
	c.InUseBy = slices.Clone(c.InUseBy)
	if c.Status == "" {
		c.Status = "ISSUED"
	}
	if c.Type == "" {
		c.Type = "AMAZON_ISSUED"
	}
	if c.KeyAlgorithm == "" {
		c.KeyAlgorithm = "RSA_2048"
	}
	if c.NotBefore.IsZero() && !c.NotAfter.IsZero() {
		c.NotBefore = c.NotAfter.AddDate(0, 0, -395)
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = c.NotBefore
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.acm.certs[c.ARN]; !ok {
		s.acm.order = append(s.acm.order, c.ARN)
	}
	s.acm.certs[c.ARN] = &c
	return c.ARN
}

// RemoveCertificate deletes the certificate arn, as DeleteCertificate
// would; DescribeCertificate then answers ResourceNotFoundException.
func (s *Server) RemoveCertificate(arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.acm.certs, arn)
	s.acm.order = slices.DeleteFunc(s.acm.order, func(a string) bool { return a == arn })
}

// acmARN is the pattern ACM validates certificate ARNs against.
var acmARN = regexp.MustCompile(`^arn:[\w+=/,.@-]+:acm:[\w+=/,.@-]*:[0-9]+:[\w+=,.@-]+(/[\w+=,.@-]+)*$`)

func (s *Server) acmDescribeCertificate(body []byte) (any, *apiError) {
	var in struct{ CertificateArn *string }
	if e := decodeJSON(body, &in); e != nil {
		return nil, e
	}
	if in.CertificateArn == nil {
		return nil, errValidation("1 validation error detected: Value null at 'certificateArn' failed to satisfy constraint: Member must not be null")
	}
	arn := *in.CertificateArn
	if len(arn) < 20 || len(arn) > 2048 || !acmARN.MatchString(arn) {
		return nil, errValidation("1 validation error detected: Value '%s' at 'certificateArn' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", arn, acmARN.String())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.acm.certs[arn]
	if !ok {
		return nil, &apiError{http.StatusBadRequest, "ResourceNotFoundException", fmt.Sprintf("Could not find certificate %s.", arn)}
	}
	return map[string]any{"Certificate": certificateDetail(c)}, nil
}

// The awsJson shapes of ACM's outputs.
type (
	acmCertificateDetail struct {
		CertificateArn          string
		DomainName              string
		SubjectAlternativeNames []string
		DomainValidationOptions []acmDomainValidation `json:",omitempty"`
		Serial                  string                `json:",omitempty"`
		Subject                 string
		Issuer                  string        `json:",omitempty"`
		CreatedAt               *epochSeconds `json:",omitempty"`
		IssuedAt                *epochSeconds `json:",omitempty"`
		ImportedAt              *epochSeconds `json:",omitempty"`
		Status                  string
		NotBefore               *epochSeconds `json:",omitempty"`
		NotAfter                *epochSeconds `json:",omitempty"`
		KeyAlgorithm            string
		SignatureAlgorithm      string
		InUseBy                 []string
		Type                    string
		KeyUsages               []acmName `json:",omitempty"`
		ExtendedKeyUsages       []acmName `json:",omitempty"`
		RenewalEligibility      string
		Options                 map[string]string
	}
	acmDomainValidation struct {
		DomainName       string
		ValidationDomain string
		ValidationStatus string
		ValidationMethod string
		ResourceRecord   map[string]string
	}
	acmName struct {
		Name string
		OID  string `json:",omitempty"`
	}
	acmCertificateSummary struct {
		CertificateArn                       string
		DomainName                           string
		SubjectAlternativeNameSummaries      []string
		HasAdditionalSubjectAlternativeNames bool
		Status                               string
		Type                                 string
		KeyAlgorithm                         string
		KeyUsages                            []string `json:",omitempty"`
		ExtendedKeyUsages                    []string `json:",omitempty"`
		InUse                                bool
		RenewalEligibility                   string
		NotBefore                            *epochSeconds `json:",omitempty"`
		NotAfter                             *epochSeconds `json:",omitempty"`
		CreatedAt                            *epochSeconds `json:",omitempty"`
		IssuedAt                             *epochSeconds `json:",omitempty"`
		ImportedAt                           *epochSeconds `json:",omitempty"`
	}
)

// issued reports whether c ever was issued, and so has a serial, key
// usages and validity dates to show.
func (c *Certificate) issued() bool {
	switch c.Status {
	case "ISSUED", "INACTIVE", "EXPIRED", "REVOKED":
		return true
	}
	return false
}

func (c *Certificate) renewalEligibility() string {
	if c.Type == "AMAZON_ISSUED" && len(c.InUseBy) > 0 {
		return "ELIGIBLE"
	}
	return "INELIGIBLE"
}

func certificateDetail(c *Certificate) acmCertificateDetail {
	d := acmCertificateDetail{
		CertificateArn:          c.ARN,
		DomainName:              c.DomainName,
		SubjectAlternativeNames: c.SANs,
		Subject:                 "CN=" + c.DomainName,
		Status:                  c.Status,
		KeyAlgorithm:            c.KeyAlgorithm,
		SignatureAlgorithm:      "SHA256WITHRSA",
		InUseBy:                 c.InUseBy,
		Type:                    c.Type,
		RenewalEligibility:      c.renewalEligibility(),
		Options:                 map[string]string{"CertificateTransparencyLoggingPreference": "ENABLED"},
	}
	if d.InUseBy == nil {
		d.InUseBy = []string{}
	}
	if c.Type == "IMPORTED" {
		d.ImportedAt = epoch(c.CreatedAt)
	} else {
		d.CreatedAt = epoch(c.CreatedAt)
	}
	if c.Type == "AMAZON_ISSUED" {
		status := "PENDING_VALIDATION"
		if c.issued() {
			status = "SUCCESS"
		}
		for _, name := range c.SANs {
			token := shortHash(c.ARN + "/" + name)
			base := strings.TrimPrefix(name, "*.")
			d.DomainValidationOptions = append(d.DomainValidationOptions, acmDomainValidation{
				DomainName: name, ValidationDomain: name, ValidationStatus: status, ValidationMethod: "DNS",
				ResourceRecord: map[string]string{
					"Name": "_" + token[:32] + "." + base + ".", "Type": "CNAME",
					"Value": "_" + token[32:] + ".acm-validations.aws.",
				},
			})
		}
	}
	if c.issued() {
		sum := sha256.Sum256([]byte(c.ARN))
		hexSerial := hex.EncodeToString(sum[:16])
		var serial []string
		for i := 0; i < len(hexSerial); i += 2 {
			serial = append(serial, hexSerial[i:i+2])
		}
		d.Serial = strings.Join(serial, ":")
		d.NotBefore, d.NotAfter = epoch(c.NotBefore), epoch(c.NotAfter)
		if c.Type == "AMAZON_ISSUED" {
			d.Issuer = "Amazon"
			d.IssuedAt = epoch(c.NotBefore)
		}
		d.KeyUsages = []acmName{{Name: "DIGITAL_SIGNATURE"}, {Name: "KEY_ENCIPHERMENT"}}
		d.ExtendedKeyUsages = []acmName{
			{Name: "TLS_WEB_SERVER_AUTHENTICATION", OID: "1.3.6.1.5.5.7.3.1"},
			{Name: "TLS_WEB_CLIENT_AUTHENTICATION", OID: "1.3.6.1.5.5.7.3.2"},
		}
	}
	return d
}

func certificateSummary(c *Certificate) acmCertificateSummary {
	d := certificateDetail(c)
	sans := c.SANs
	if len(sans) > 100 {
		sans = sans[:100]
	}
	sum := acmCertificateSummary{
		CertificateArn:                       c.ARN,
		DomainName:                           c.DomainName,
		SubjectAlternativeNameSummaries:      sans,
		HasAdditionalSubjectAlternativeNames: len(c.SANs) > 100,
		Status:                               c.Status,
		Type:                                 c.Type,
		KeyAlgorithm:                         c.KeyAlgorithm,
		InUse:                                len(c.InUseBy) > 0,
		RenewalEligibility:                   d.RenewalEligibility,
		NotBefore:                            d.NotBefore,
		NotAfter:                             d.NotAfter,
		CreatedAt:                            d.CreatedAt,
		IssuedAt:                             d.IssuedAt,
		ImportedAt:                           d.ImportedAt,
	}
	for _, u := range d.KeyUsages {
		sum.KeyUsages = append(sum.KeyUsages, u.Name)
	}
	for _, u := range d.ExtendedKeyUsages {
		sum.ExtendedKeyUsages = append(sum.ExtendedKeyUsages, u.Name)
	}
	return sum
}

func (s *Server) acmListCertificates(body []byte) (any, *apiError) {
	var in struct {
		CertificateStatuses []string
		Includes            *struct {
			KeyTypes []string `json:"keyTypes"`
		}
		MaxItems  *int
		NextToken *string
		SortBy    string
		SortOrder string
	}
	if e := decodeJSON(body, &in); e != nil {
		return nil, e
	}
	limit := 1000
	if in.MaxItems != nil {
		if *in.MaxItems < 1 || *in.MaxItems > 1000 {
			return nil, errValidation("1 validation error detected: Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000", *in.MaxItems)
		}
		limit = *in.MaxItems
	}
	if in.SortBy != "" && in.SortBy != "CREATED_AT" {
		return nil, errValidation("1 validation error detected: Value '%s' at 'sortBy' failed to satisfy constraint: Member must satisfy enum value set: [CREATED_AT]", in.SortBy)
	}
	if in.SortOrder != "" && in.SortOrder != "ASCENDING" && in.SortOrder != "DESCENDING" {
		return nil, errValidation("1 validation error detected: Value '%s' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: [ASCENDING, DESCENDING]", in.SortOrder)
	}
	if in.SortOrder != "" && in.SortBy == "" {
		return nil, &apiError{http.StatusBadRequest, "InvalidArgsException", "SortOrder requires SortBy"}
	}
	start := 0
	if in.NextToken != nil {
		n, err := decodeNextToken(*in.NextToken)
		if err != nil {
			return nil, &apiError{http.StatusBadRequest, "InvalidArgsException", "Invalid NextToken"}
		}
		start = n
	}
	keyTypes := []string{"RSA_2048"}
	if in.Includes != nil && len(in.Includes.KeyTypes) > 0 {
		keyTypes = in.Includes.KeyTypes
	}

	s.mu.Lock()
	var matched []*Certificate
	for _, arn := range s.acm.order {
		c := s.acm.certs[arn]
		if len(in.CertificateStatuses) > 0 && !slices.Contains(in.CertificateStatuses, c.Status) {
			continue
		}
		if !slices.Contains(keyTypes, c.KeyAlgorithm) {
			continue
		}
		matched = append(matched, c)
	}
	if in.SortBy == "CREATED_AT" {
		slices.SortStableFunc(matched, func(a, b *Certificate) int {
			if in.SortOrder == "DESCENDING" {
				return b.CreatedAt.Compare(a.CreatedAt)
			}
			return a.CreatedAt.Compare(b.CreatedAt)
		})
	}
	start = min(start, len(matched))
	end := min(start+limit, len(matched))
	out := struct {
		CertificateSummaryList []acmCertificateSummary
		NextToken              string `json:",omitempty"`
	}{CertificateSummaryList: []acmCertificateSummary{}}
	for _, c := range matched[start:end] {
		out.CertificateSummaryList = append(out.CertificateSummaryList, certificateSummary(c))
	}
	s.mu.Unlock()
	if end < len(matched) {
		out.NextToken = encodeNextToken(end)
	}
	return out, nil
}

// Next tokens are opaque to callers: an offset into the filtered,
// sorted list.
func encodeNextToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("awsemu-offset:" + strconv.Itoa(offset)))
}

func decodeNextToken(tok string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, err
	}
	n, ok := strings.CutPrefix(string(b), "awsemu-offset:")
	if !ok {
		return 0, fmt.Errorf("not an awsemu token")
	}
	off, err := strconv.Atoi(n)
	if err != nil || off < 0 {
		return 0, fmt.Errorf("bad offset %q", n)
	}
	return off, nil
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
