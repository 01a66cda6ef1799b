package cli

import (
	"os"
	"runtime/pprof"
	"runtime/trace"
)

// profileFlags are imchost run's profiling flags: a CPU profile for `go
// tool pprof` and an execution trace for `go tool trace` (which shows how
// the module loads, the TPM and the PT-TLS handshake overlap).
type profileFlags struct {
	cpu, trace string
}

func (p *profileFlags) register(fs interface {
	StringVar(*string, string, string, string)
}) {
	fs.StringVar(&p.cpu, "cpuprofile", "", "write a CPU profile of the whole run into `FILE` (go tool pprof)")
	fs.StringVar(&p.trace, "trace", "", "write an execution trace of the whole run into `FILE` (go tool trace)")
}

// start begins the requested profiles; the returned stop ends and writes
// them (it is never nil).
func (p *profileFlags) start() (stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	if p.cpu != "" {
		f, err := os.Create(p.cpu)
		if err != nil {
			return stop, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return stop, err
		}
		stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
	}
	if p.trace != "" {
		f, err := os.Create(p.trace)
		if err != nil {
			stop()
			return func() {}, err
		}
		if err := trace.Start(f); err != nil {
			f.Close()
			stop()
			return func() {}, err
		}
		stops = append(stops, func() { trace.Stop(); f.Close() })
	}
	return stop, nil
}
