//go:build !wasip1

package imc

import "os"

func writeStderr(s string) { os.Stderr.WriteString(s) }
