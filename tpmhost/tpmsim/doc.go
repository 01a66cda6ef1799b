// Package tpmsim starts the in-process TPM 2.0 reference simulator
// (go-tpm-tools, C code built with cgo) as a tpmhost.TPM. imchost-demo
// hands Open to the demo, and tests use it; the imchost client does not
// import it, so it builds without cgo into a static binary.
package tpmsim
