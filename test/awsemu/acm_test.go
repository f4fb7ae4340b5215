package awsemu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/google/go-cmp/cmp"
)

var notAfter = time.Date(2027, 1, 2, 3, 4, 5, 678e6, time.UTC)

// certView is what the tests compare of a CertificateDetail.
type certView struct {
	ARN, Domain         string
	SANs                []string
	NotBefore, NotAfter time.Time
	Status, Type, Key   string
	InUseBy             []string
	Serial, Issuer      bool
	Imported            bool
	Validations         int
	Renewal             string
}

func viewOf(d *types.CertificateDetail) certView {
	v := certView{
		ARN: aws.ToString(d.CertificateArn), Domain: aws.ToString(d.DomainName), SANs: d.SubjectAlternativeNames,
		NotBefore: aws.ToTime(d.NotBefore), NotAfter: aws.ToTime(d.NotAfter),
		Status: string(d.Status), Type: string(d.Type), Key: string(d.KeyAlgorithm), InUseBy: d.InUseBy,
		Serial: d.Serial != nil, Issuer: d.Issuer != nil, Imported: d.ImportedAt != nil,
		Validations: len(d.DomainValidationOptions), Renewal: string(d.RenewalEligibility),
	}
	return v
}

func TestDescribeCertificate(t *testing.T) {
	lb := "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/web/0123456789abcdef"
	tests := []struct {
		name string
		cert Certificate
		want func(arn string) certView
	}{
		{
			name: "issued, with SANs and in use",
			cert: Certificate{ARN: testARN, DomainName: "www.example.com", SANs: []string{"www.example.com", "*.api.example.com"}, NotAfter: notAfter, InUseBy: []string{lb}},
			want: func(arn string) certView {
				return certView{ARN: arn, Domain: "www.example.com", SANs: []string{"www.example.com", "*.api.example.com"},
					NotBefore: notAfter.AddDate(0, 0, -395), NotAfter: notAfter, Status: "ISSUED", Type: "AMAZON_ISSUED", Key: "RSA_2048",
					InUseBy: []string{lb}, Serial: true, Issuer: true, Validations: 2, Renewal: "ELIGIBLE"}
			},
		},
		{
			name: "defaults: generated ARN, SANs are the domain name",
			cert: Certificate{DomainName: "a.example.com", NotAfter: notAfter},
			want: func(arn string) certView {
				return certView{ARN: arn, Domain: "a.example.com", SANs: []string{"a.example.com"},
					NotBefore: notAfter.AddDate(0, 0, -395), NotAfter: notAfter, Status: "ISSUED", Type: "AMAZON_ISSUED", Key: "RSA_2048",
					InUseBy: []string{}, Serial: true, Issuer: true, Validations: 1, Renewal: "INELIGIBLE"}
			},
		},
		{
			name: "pending validation has no validity dates nor serial",
			cert: Certificate{ARN: testARN, DomainName: "new.example.com", Status: "PENDING_VALIDATION"},
			want: func(arn string) certView {
				return certView{ARN: arn, Domain: "new.example.com", SANs: []string{"new.example.com"},
					Status: "PENDING_VALIDATION", Type: "AMAZON_ISSUED", Key: "RSA_2048", InUseBy: []string{}, Validations: 1, Renewal: "INELIGIBLE"}
			},
		},
		{
			name: "imported, CN missing from its SANs, expired",
			cert: Certificate{ARN: testARN, DomainName: "legacy.example.com", SANs: []string{"other.example.com"}, Type: "IMPORTED", Status: "EXPIRED", NotAfter: notAfter, KeyAlgorithm: "EC_prime256v1"},
			want: func(arn string) certView {
				return certView{ARN: arn, Domain: "legacy.example.com", SANs: []string{"other.example.com"},
					NotBefore: notAfter.AddDate(0, 0, -395), NotAfter: notAfter, Status: "EXPIRED", Type: "IMPORTED", Key: "EC_prime256v1",
					InUseBy: []string{}, Serial: true, Imported: true, Renewal: "INELIGIBLE"}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			arn := emu.AddCertificate(tt.cert)
			if tt.cert.ARN == "" && !strings.HasPrefix(arn, "arn:aws:acm:"+testRegion+":123456789012:certificate/") {
				t.Errorf("generated ARN %q", arn)
			}
			out, err := newACM(t, emu).DescribeCertificate(context.Background(), &acm.DescribeCertificateInput{CertificateArn: aws.String(arn)})
			if err != nil {
				t.Fatalf("DescribeCertificate: %v", err)
			}
			if diff := cmp.Diff(tt.want(arn), viewOf(out.Certificate)); diff != "" {
				t.Errorf("certificate (-want +got):\n%s", diff)
			}
			if got := emu.Calls(); got["acm.DescribeCertificate"] != 1 {
				t.Errorf("Calls = %v, want one DescribeCertificate", got)
			}
		})
	}
}

func TestDescribeCertificateErrors(t *testing.T) {
	tests := []struct {
		name     string
		arn      string
		wantCode string
		wantNF   bool
	}{
		{name: "unknown ARN", arn: "arn:aws:acm:eu-west-1:111122223333:certificate/missing", wantCode: "ResourceNotFoundException", wantNF: true},
		{name: "malformed ARN", arn: "certificate/0a1b2c3d-0000-4000-8000", wantCode: "ValidationException"},
		{name: "not an ACM ARN", arn: "arn:aws:iam::111122223333:server-certificate/web", wantCode: "ValidationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			emu := newEmu(t)
			emu.AddCertificate(Certificate{ARN: testARN, DomainName: "www.example.com"})
			_, err := newACM(t, emu).DescribeCertificate(context.Background(), &acm.DescribeCertificateInput{CertificateArn: aws.String(tt.arn)})
			if code := apiCode(err); code != tt.wantCode {
				t.Fatalf("error %v: code %q, want %q", err, code, tt.wantCode)
			}
			var nf *types.ResourceNotFoundException
			if got := errors.As(err, &nf); got != tt.wantNF {
				t.Errorf("errors.As(*types.ResourceNotFoundException) = %v, want %v (%v)", got, tt.wantNF, err)
			}
			if tt.wantNF && !strings.Contains(aws.ToString(nf.Message), tt.arn) {
				t.Errorf("message %q does not name the ARN", aws.ToString(nf.Message))
			}
			if got := emu.Calls()["acm.DescribeCertificate"]; got != 1 {
				t.Errorf("%d calls, want 1 (client errors are not retried)", got)
			}
		})
	}
}

// TestDescribeCertificateWire checks the bytes: what a real ACM answers,
// independently of how the SDK reads it.
func TestDescribeCertificateWire(t *testing.T) {
	emu := newEmu(t)
	emu.AddCertificate(Certificate{ARN: testARN, DomainName: "www.example.com", NotAfter: notAfter})

	status, header, body := rawRequest{sign: true}.do(t, emu)
	if status != http.StatusOK || header.Get("Content-Type") != "application/x-amz-json-1.1" || header.Get("X-Amzn-RequestId") == "" {
		t.Fatalf("answer %d %v %s", status, header, body)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	dec.UseNumber()
	var out struct{ Certificate map[string]any }
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	if n, ok := out.Certificate["NotAfter"].(json.Number); !ok || n.String() != "1798859045.678" {
		t.Errorf("NotAfter = %#v, want the JSON number 1798859045.678", out.Certificate["NotAfter"])
	}
	if got := out.Certificate["CertificateArn"]; got != testARN {
		t.Errorf("CertificateArn = %v", got)
	}

	status, header, body = rawRequest{sign: true, body: `{"CertificateArn":"arn:aws:acm:eu-west-1:111122223333:certificate/nope"}`}.do(t, emu)
	var e map[string]string
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatal(err)
	}
	if status != http.StatusBadRequest || header.Get("X-Amzn-ErrorType") != "ResourceNotFoundException" ||
		e["__type"] != "ResourceNotFoundException" || e["message"] == "" {
		t.Errorf("unknown ARN answered %d %v %s", status, header, body)
	}
}

func TestListCertificates(t *testing.T) {
	emu := newEmu(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	add := func(name, status, key string, day int) string {
		return emu.AddCertificate(Certificate{
			ARN: "arn:aws:acm:eu-west-1:111122223333:certificate/" + name, DomainName: name + ".example.com",
			NotAfter: base.AddDate(1, 0, 0), CreatedAt: base.AddDate(0, 0, day), Status: status, KeyAlgorithm: key,
		})
	}
	a := add("a", "ISSUED", "", 3)
	b := add("b", "ISSUED", "", 1)
	c := add("c", "EXPIRED", "", 2)
	d := add("d", "ISSUED", "EC_prime256v1", 0)
	e := add("e", "PENDING_VALIDATION", "", 4)
	client := newACM(t, emu)

	tests := []struct {
		name     string
		in       acm.ListCertificatesInput
		want     []string
		wantCode string
	}{
		{name: "RSA_2048 only by default, in the order added", want: []string{a, b, c, e}},
		{name: "by status", in: acm.ListCertificatesInput{CertificateStatuses: []types.CertificateStatus{"ISSUED", "EXPIRED"}}, want: []string{a, b, c}},
		{name: "other key types when asked", in: acm.ListCertificatesInput{Includes: &types.Filters{KeyTypes: []types.KeyAlgorithm{"EC_prime256v1", "RSA_2048"}}}, want: []string{a, b, c, d, e}},
		{name: "sorted by creation, newest first", in: acm.ListCertificatesInput{SortBy: "CREATED_AT", SortOrder: "DESCENDING"}, want: []string{e, a, c, b}},
		{name: "paginated", in: acm.ListCertificatesInput{MaxItems: aws.Int32(1)}, want: []string{a, b, c, e}},
		{name: "MaxItems out of range", in: acm.ListCertificatesInput{MaxItems: aws.Int32(1001)}, wantCode: "ValidationException"},
		{name: "foreign NextToken", in: acm.ListCertificatesInput{NextToken: aws.String("bm9wZQ")}, wantCode: "InvalidArgsException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			pages := 0
			p := acm.NewListCertificatesPaginator(client, &tt.in)
			for p.HasMorePages() {
				out, err := p.NextPage(context.Background())
				if tt.wantCode != "" {
					if code := apiCode(err); code != tt.wantCode {
						t.Fatalf("error %v: code %q, want %q", err, code, tt.wantCode)
					}
					return
				}
				if err != nil {
					t.Fatalf("ListCertificates: %v", err)
				}
				pages++
				for _, s := range out.CertificateSummaryList {
					got = append(got, aws.ToString(s.CertificateArn))
					if (s.NotAfter == nil) != (s.Status == "PENDING_VALIDATION") || aws.ToString(s.DomainName) == "" || len(s.SubjectAlternativeNameSummaries) != 1 {
						t.Errorf("summary %+v lacks fields", s)
					}
				}
			}
			if tt.wantCode != "" {
				t.Fatalf("no error, want %s", tt.wantCode)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ARNs (-want +got):\n%s", diff)
			}
			if tt.in.MaxItems != nil && pages != len(tt.want) {
				t.Errorf("%d pages of one, want %d", pages, len(tt.want))
			}
		})
	}
}

func TestAddCertificateReplacesAndRemove(t *testing.T) {
	emu := newEmu(t)
	client := newACM(t, emu)
	first := emu.AddCertificate(Certificate{ARN: testARN, DomainName: "www.example.com", NotAfter: notAfter})
	second := emu.AddCertificate(Certificate{DomainName: "other.example.com", NotAfter: notAfter})
	emu.AddCertificate(Certificate{ARN: testARN, DomainName: "www.example.com", SANs: []string{"www.example.com", "www2.example.com"}, NotAfter: notAfter})

	out, err := client.DescribeCertificate(context.Background(), &acm.DescribeCertificateInput{CertificateArn: aws.String(testARN)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"www.example.com", "www2.example.com"}, out.Certificate.SubjectAlternativeNames); diff != "" {
		t.Errorf("SANs after replacing (-want +got):\n%s", diff)
	}
	list, err := client.ListCertificates(context.Background(), &acm.ListCertificatesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var arns []string
	for _, s := range list.CertificateSummaryList {
		arns = append(arns, aws.ToString(s.CertificateArn))
	}
	if diff := cmp.Diff([]string{first, second}, arns); diff != "" {
		t.Errorf("a replaced certificate keeps its place (-want +got):\n%s", diff)
	}

	emu.RemoveCertificate(testARN)
	_, err = client.DescribeCertificate(context.Background(), &acm.DescribeCertificateInput{CertificateArn: aws.String(testARN)})
	if code := apiCode(err); code != "ResourceNotFoundException" {
		t.Errorf("after RemoveCertificate: %v", err)
	}
}
