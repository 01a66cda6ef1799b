package capability

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/imchost/imchost/abi"
)

// readmeFuncs returns the function names of the tables under a heading of
// abi/README.md's section 3, in order.
func readmeFuncs(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile("../abi/README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n## 3. ")
	if !ok {
		t.Fatal("abi/README.md has no section 3")
	}
	sec, _, _ = strings.Cut(sec, "\n## 4. ")
	out := map[string][]string{}
	heading := ""
	for line := range strings.Lines(sec) {
		if h, ok := strings.CutPrefix(line, "### "); ok {
			heading = strings.TrimSpace(h)
			continue
		}
		if row, ok := strings.CutPrefix(line, "| `"); ok {
			name, _, _ := strings.Cut(row, "`")
			out[heading] = append(out[heading], name)
		}
	}
	return out
}

// TestFuncsMatchREADME: the table is the one list of host functions, and
// abi/README.md documents exactly it, data functions and the others each
// in the table's order.
func TestFuncsMatchREADME(t *testing.T) {
	var data, others []string
	for _, f := range Funcs() {
		if f.Kind == Data {
			data = append(data, f.Name)
		} else {
			others = append(others, f.Name)
		}
	}
	doc := readmeFuncs(t)
	if got := doc["Data functions"]; !slices.Equal(got, data) {
		t.Errorf("abi/README.md lists the data functions\n%v\nthe table has\n%v", got, data)
	}
	if got := doc["The three others"]; !slices.Equal(got, others) {
		t.Errorf("abi/README.md lists the other functions\n%v\nthe table has\n%v", got, others)
	}
}

// TestFuncs: every name is in the table once; result_take alone needs no
// grant; every data function runs, and only data functions do.
func TestFuncs(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Funcs() {
		if seen[f.Name] {
			t.Errorf("%s is in the table twice", f.Name)
		}
		seen[f.Name] = true
		if Lookup(f.Name) != f {
			t.Errorf("Lookup(%s) is not its entry", f.Name)
		}
		if f.Ungranted != (f.Name == abi.FnResultTake) || Grantable(f.Name) == f.Ungranted {
			t.Errorf("%s: ungranted %v, grantable %v", f.Name, f.Ungranted, Grantable(f.Name))
		}
		if (f.run != nil) != (f.Kind == Data) {
			t.Errorf("%s of kind %d has a handler: %v", f.Name, f.Kind, f.run != nil)
		}
		if f.Kind != ResultTake && f.Kind != LogLevel && f.MaxInput == 0 {
			t.Errorf("%s reads no input", f.Name)
		}
	}
	if g := GrantNames(); len(g) != len(Funcs())-1 || !slices.IsSorted(g) || slices.Contains(g, abi.FnResultTake) {
		t.Errorf("GrantNames() = %v", g)
	}
	if Lookup("no_such_function") != nil || Grantable("no_such_function") || Grantable(abi.FnResultTake) {
		t.Error("an unknown name or result_take is grantable")
	}
	// Log and log_level are called by their own signatures, not as data.
	s := NewSession(SessionConfig{IMCID: 1})
	for _, fn := range []string{abi.FnLog, abi.FnLogLevel, abi.FnResultTake, "no_such_function"} {
		if _, st := s.CallContext(context.Background(), fn, nil); st != abi.StatusInvalid {
			t.Errorf("Call(%s) = %d, want StatusInvalid", fn, st)
		}
	}
}

// TestLookupMatchesTable: the perfect hash behind Lookup and Session.Call
// finds every function of the table under its own name and nothing under
// any other: names of the same length with the same first and last
// bytes (the bytes it hashes), prefixes, extensions, the empty name. A
// table entry added without a slot of its own fails here (no multiplier
// found) instead of falling back to the slow scan unnoticed.
func TestLookupMatchesTable(t *testing.T) {
	if names.mul == 0 {
		t.Fatal("no perfect hash of the table's names: raise nameSlots or change nameKey")
	}
	for i, f := range funcs {
		if got := Lookup(f.Name); got != f {
			t.Errorf("Lookup(%q) = %v, want entry %d", f.Name, got, i)
		}
		n := len(f.Name)
		var others []string
		for j := range n {
			for _, c := range []byte{'_', 'a', 'z', 0, 0xff} {
				b := []byte(f.Name)
				if b[j] == c {
					continue
				}
				b[j] = c
				others = append(others, string(b))
			}
		}
		others = append(others, f.Name[:n-1], f.Name+"_", strings.ToUpper(f.Name), " "+f.Name)
		for _, o := range others {
			if Lookup(o) != nil && o != f.Name && !slices.ContainsFunc(funcs, func(g *Func) bool { return g.Name == o }) {
				t.Errorf("Lookup(%q) found %q", o, Lookup(o).Name)
			}
		}
	}
	for _, o := range []string{"", "x", "no_such_function", "SEND", "send\x00"} {
		if f := Lookup(o); f != nil {
			t.Errorf("Lookup(%q) = %q", o, f.Name)
		}
	}
	// The fallback scan (no multiplier) answers the same.
	scan := &nameIndex{all: funcs}
	for _, f := range funcs {
		if scan.lookup(f.Name) != f || scan.lookup(f.Name+"x") != nil {
			t.Errorf("scan lookup of %q is wrong", f.Name)
		}
	}
}

// TestSwitchLookupMatchesTable keeps BenchmarkNameLookup's switch honest:
// it resolves every name of the table as Lookup does.
func TestSwitchLookupMatchesTable(t *testing.T) {
	for _, f := range funcs {
		if switchLookup(f.Name) != f {
			t.Errorf("switchLookup(%q) is not the table's entry", f.Name)
		}
	}
	if switchLookup("no_such_function") != nil {
		t.Error("switchLookup found an unknown name")
	}
}
