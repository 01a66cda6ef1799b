//go:build !unix

package tpmhost

// oNonBlock: no such flag outside Unix.
const oNonBlock = 0
