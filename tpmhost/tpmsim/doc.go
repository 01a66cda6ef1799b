// Package tpmsim links the in-process TPM 2.0 reference simulator
// (go-tpm-tools, C code built with cgo) into a program: importing it for its
// side effect makes tpmhost.Open(tpmhost.SimulatorSpec) work.
//
//	import _ "github.com/imchost/imchost/tpmhost/tpmsim"
//
// imchost-demo and the tests import it; the imchost client does not, so it
// builds without cgo into a static binary. In a build without cgo the
// package is empty and Open(SimulatorSpec) reports that the simulator is
// missing.
package tpmsim
