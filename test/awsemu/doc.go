// Package awsemu is an in-process AWS for tests and the sandbox: one
// loopback HTTP endpoint that the real aws-sdk-go-v2 clients talk to
// through BaseEndpoint, speaking each service's real wire protocol, so the
// SDK's serializers, error decoding, retries and signing all run unchanged.
//
//	emu := awsemu.New(awsemu.Options{Region: "us-east-1", AccessKeyID: id, SecretAccessKey: secret})
//	defer emu.Close()
//	arn := emu.AddCertificate(awsemu.Certificate{DomainName: "www.example.com", NotAfter: later})
//	client := acm.NewFromConfig(cfg, func(o *acm.Options) { o.BaseEndpoint = aws.String(emu.URL()) })
//
// Every request must be SigV4-signed with the configured credentials for the
// configured region and the service's signing name (Route53, a global
// service, is also accepted signed for us-east-1); the signature is
// recomputed and checked, and refusals take AWS's error shapes: for ACM
// MissingAuthenticationTokenException, UnrecognizedClientException,
// InvalidSignatureException, IncompleteSignatureException (400); for
// Route53 and CloudWatch, which came from the Query protocol,
// MissingAuthenticationToken, InvalidClientTokenId, SignatureDoesNotMatch,
// IncompleteSignature (403). Calls counts every request by
// "service.Operation"; FailNext injects errors such as throttling or 503s
// that the SDK retries, in each protocol's error shape.
//
// Emulated so far:
//   - ACM (awsJson 1.1): DescribeCertificate and ListCertificates, seeded
//     with AddCertificate.
//   - Route53 (restXml): ListResourceRecordSets (start name, type and
//     identifier, maxitems, Route53's order and pages) and
//     GetHealthCheckStatus, seeded with AddHostedZone, SetWeightedRecords,
//     SetRecord, SetHealthCheck and SetHealthCheckObservations.
//   - CloudWatch (rpc-v2-cbor, query-compatible): GetMetricData (MetricStat
//     queries on load balancer metrics; no metric math) and DescribeAlarms
//     (names, prefix, state, types, pages), seeded with
//     SetLoadBalancerMetrics, SetAlarm and SetCompositeAlarm.
//
// Files by concern: server.go (options, the one dispatcher, Calls,
// FailNext), sigv4.go (request authentication), errors.go (AWS errors,
// independent of protocol), then a file per protocol and one per service:
// awsjson.go (routing by X-Amz-Target, JSON bodies, epoch-second
// timestamps) and acm.go; restxml.go (routing by method and path under the
// API version, XML documents, <ErrorResponse> errors) and route53.go;
// rpcv2cbor.go (routing by /service/<Service>/operation/<Op>, CBOR bodies
// with tag-1 timestamps, __type errors and X-Amzn-Query-Error) and
// cloudwatch.go.
//
// Adding a service: give it a file with its *service (Calls prefix and
// SigV4 signing name), its state in Server, seeding methods and handlers,
// and register its operations with its protocol (awsJSONServices,
// restXMLServices, cborServices). A new protocol gets its own file with a
// router appended to routers. Signing, counting and FailNext then apply
// unchanged.
package awsemu
