// Command wrongabi declares ABI version 2 (imc_abi_v2), which this host does not speak.
package main

//go:wasmexport imc_abi_v2
func marker() {}

//go:wasmexport imc_alloc
func alloc(uint32) uint32 { return 0 }

//go:wasmexport imc_initialize
func initialize(uint32) int32 { return 0 }

//go:wasmexport imc_connection_change
func connectionChange(uint32, uint32) int32 { return 0 }

//go:wasmexport imc_begin_handshake
func beginHandshake(uint32) int32 { return 0 }

//go:wasmexport imc_receive
func receive(uint32, uint32, uint32) int32 { return 0 }

//go:wasmexport imc_batch_ending
func batchEnding(uint32) int32 { return 0 }

//go:wasmexport imc_terminate
func terminate() int32 { return 0 }

func main() {}
