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
// configured region and the service's signing name; the signature is
// recomputed and checked, and refusals take AWS's error shapes
// (MissingAuthenticationTokenException, UnrecognizedClientException,
// InvalidSignatureException, IncompleteSignatureException). Calls counts
// every request by "service.Operation"; FailNext injects errors such as
// throttling or 503s that the SDK retries.
//
// Emulated so far: ACM (awsJson 1.1) DescribeCertificate and
// ListCertificates.
//
// Files by concern: server.go (options, the one dispatcher, Calls,
// FailNext), sigv4.go (request authentication), errors.go (AWS errors,
// independent of protocol), awsjson.go (the awsJson 1.0/1.1 protocol:
// routing by X-Amz-Target, JSON bodies, epoch-second timestamps), acm.go
// (ACM's state, seeding and operations).
//
// Adding a service: give it a file with its *service (Calls prefix and
// SigV4 signing name), its state in Server, seeding methods and handlers.
// A service on an existing protocol registers its operations there (an
// awsJson one joins awsJSONServices). A new protocol gets its own file with
// a router appended to routers: Route53 (REST-XML) routes by path under
// /2013-04-01/ and renders errors as <ErrorResponse><Error>; CloudWatch
// (rpc-v2-cbor) by the Smithy-Protocol: rpc-v2-cbor header and
// /service/GraniteServiceVersion20100801/operation/<Op>, with CBOR bodies.
// Signing, counting and FailNext then apply to them unchanged.
package awsemu
