package imc

import (
	"github.com/imchost/imchost/abi"
)

// registered is the IMC the exports drive. A module holds exactly one IMC
// and one instance serves one connection, so a package variable is the
// module's own state here, not shared host state.
var registered IMC

// Run binds imc to the ABI exports of this module. Call it from an init
// function of a package main built with GOOS=wasip1 GOARCH=wasm
// -buildmode=c-shared (build/wasm.mk does that); main itself stays empty,
// because a reactor's main is never called. Natively, Run only records imc.
func Run(imc IMC) { registered = imc }

// lifecycle runs one IMC method, turning a panic into StatusModuleFailed (the
// panic text goes to stderr, which the host logs) and an error into
// StatusModuleFailed too, unless it is a *StatusError carrying the status to
// return.
func lifecycle(name string, f func(IMC) error) (st int32) {
	if registered == nil {
		writeStderr("imc: " + name + " called before imc.Run\n")
		return int32(abi.StatusModuleFailed)
	}
	defer func() {
		if r := recover(); r != nil {
			writeStderr("imc: " + name + " panicked: " + panicText(r) + "\n")
			st = int32(abi.StatusModuleFailed)
		}
	}()
	if err := f(registered); err != nil {
		writeStderr("imc: " + name + ": " + err.Error() + "\n")
		return int32(abi.StatusModuleFailed)
	}
	return int32(abi.StatusOK)
}

func panicText(r any) string {
	switch v := r.(type) {
	case error:
		return v.Error()
	case string:
		return v
	}
	return "(non-string panic value)"
}
