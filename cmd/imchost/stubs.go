package main

func cmdPDP(e *env, args []string) int      { return exitUsage }
func cmdEventLog(e *env, args []string) int { return exitUsage }
func cmdTPM(e *env, args []string) int      { return exitUsage }
func cmdIMC(e *env, args []string) int      { return exitUsage }
