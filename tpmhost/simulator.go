package tpmhost

import (
	"errors"
	"io"
	"sync"
)

// simulatorOpener is what Open(SimulatorSpec) starts; nil until a program links
// package tpmsim, which sets it.
var simulatorOpener struct {
	sync.Mutex
	open func() (io.ReadWriteCloser, error)
}

// RegisterSimulator makes Open(SimulatorSpec) start TPMs with open. Package
// tpmsim calls it from its init, so a program has the in-process simulator
// exactly when it imports tpmsim: the demo and the tests do, the endpoint
// client does not (the simulator is C code, and an endpoint has no use for a
// TPM that forgets everything when the process ends).
func RegisterSimulator(open func() (io.ReadWriteCloser, error)) {
	simulatorOpener.Lock()
	defer simulatorOpener.Unlock()
	simulatorOpener.open = open
}

// errNoSimulator is Open(SimulatorSpec)'s error in a program without tpmsim.
var errNoSimulator = errors.New("no in-process TPM simulator in this program (imchost-demo has one; a Go program " +
	"links it by importing tpmhost/tpmsim): use a TPM device, swtpm (tcp:HOST:PORT) or mssim:HOST:PORT")

func openSimulator() (io.ReadWriteCloser, error) {
	simulatorOpener.Lock()
	open := simulatorOpener.open
	simulatorOpener.Unlock()
	if open == nil {
		return nil, errNoSimulator
	}
	return open()
}
