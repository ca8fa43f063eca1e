// Package certs owns RCC's transport security: TLS configurations for the
// coordinator's gRPC server and the executor's players' endpoint from
// certificate and key files that are read again when they change
// ([Reloader]), client configurations that verify a server against a CA
// file or the system roots ([ClientConfig]), the rule that a plaintext
// listener must stay on loopback ([CheckPlaintext]), and a local CA with
// certificates for trying it out ([WriteDev]).
//
// It is part of the daemon's insides, used by rccd, rccctl and rcc-view.
package certs
