// Package fmtlite formats text like package fmt for the verbs IMCs use,
// without fmt itself: fmt brings os, time and its reflection printer into a
// module (about 760 KB of a wasm IMC's 3.5 MB, which the host decodes,
// validates and compiles on every cold start), this package about 170 KB.
//
// Supported: the verbs %v %d %s %q %x %X %c %w and %%, the flags # 0 - + and
// space, a width and a precision written as digits; arguments of boolean,
// integer, string and []byte kinds (named types too), errors and
// fmt.Stringer-like values (a String() string method), and slices or arrays
// of these. For these the output is byte for byte fmt's (a test compares
// them). Anything else (floats, structs, pointers, maps, %#v, %T, %p,
// argument indexes, '*' widths) prints a %!verb(TYPE) marker instead of
// guessing; nothing panics.
package fmtlite

import (
	"errors"
	"reflect"
	"strconv"
	"unicode/utf8"
)

// Stringer is fmt.Stringer: a value with a String method prints as its
// result for %v %s %q %x %X.
type Stringer interface{ String() string }

// Sprintf formats like fmt.Sprintf.
func Sprintf(format string, a ...any) string {
	p := printer{}
	p.doPrintf(format, a)
	return string(p.buf)
}

// Appendf formats like fmt.Appendf: it appends to b and returns the result.
func Appendf(b []byte, format string, a ...any) []byte {
	p := printer{buf: b}
	p.doPrintf(format, a)
	return p.buf
}

// Errorf formats like fmt.Errorf: with one %w verb the error unwraps to that
// argument, with several to all of them (errors.Is and errors.As see
// through it), with none it is errors.New of the text.
func Errorf(format string, a ...any) error {
	p := printer{wrapErrs: true}
	p.doPrintf(format, a)
	s := string(p.buf)
	switch len(p.wrapped) {
	case 0:
		return errors.New(s)
	case 1:
		w := &wrapError{msg: s}
		w.err, _ = a[p.wrapped[0]].(error)
		return w
	default:
		var errs []error
		for i, n := range p.wrapped {
			if i > 0 && p.wrapped[i-1] == n {
				continue
			}
			if e, ok := a[n].(error); ok {
				errs = append(errs, e)
			}
		}
		return &wrapErrors{msg: s, errs: errs}
	}
}

type wrapError struct {
	msg string
	err error
}

func (e *wrapError) Error() string { return e.msg }
func (e *wrapError) Unwrap() error { return e.err }

type wrapErrors struct {
	msg  string
	errs []error
}

func (e *wrapErrors) Error() string   { return e.msg }
func (e *wrapErrors) Unwrap() []error { return e.errs }

// flags of one verb.
type flags struct {
	sharp, zero, plus, minus, space bool
	sharpV, plusV                   bool
	wid, prec                       int
	widPresent, precPresent         bool
}

type printer struct {
	buf      []byte
	f        flags
	arg      any
	value    reflect.Value // the value printValue prints, when arg is nil
	wrapErrs bool
	wrapped  []int
	erroring bool
}

const (
	ldigits = "0123456789abcdefx"
	udigits = "0123456789ABCDEFX"
)

// parsenum reads a decimal number at s[start:end] (at most 1e6, as fmt).
func parsenum(s string, start, end int) (num int, ok bool, next int) {
	if start >= end {
		return 0, false, end
	}
	for next = start; next < end && '0' <= s[next] && s[next] <= '9'; next++ {
		if num > 1e6 {
			return 0, false, end
		}
		num = num*10 + int(s[next]-'0')
		ok = true
	}
	return
}

func (p *printer) doPrintf(format string, a []any) {
	end := len(format)
	argNum := 0
	for i := 0; i < end; {
		last := i
		for i < end && format[i] != '%' {
			i++
		}
		p.buf = append(p.buf, format[last:i]...)
		if i >= end {
			break
		}
		i++
		p.f = flags{}
	flagLoop:
		for ; i < end; i++ {
			switch format[i] {
			case '#':
				p.f.sharp = true
			case '0':
				p.f.zero = true
			case '+':
				p.f.plus = true
			case '-':
				p.f.minus = true
			case ' ':
				p.f.space = true
			default:
				break flagLoop
			}
		}
		if p.f.minus {
			p.f.zero = false // as fmt: no zero padding to the right
		}
		if i < end && (format[i] == '[' || format[i] == '*') {
			p.buf = append(p.buf, "%!(UNSUPPORTED)"...)
			return
		}
		p.f.wid, p.f.widPresent, i = parsenum(format, i, end)
		if i+1 < end && format[i] == '.' {
			i++
			if format[i] == '[' || format[i] == '*' {
				p.buf = append(p.buf, "%!(UNSUPPORTED)"...)
				return
			}
			p.f.prec, p.f.precPresent, i = parsenum(format, i, end)
			if !p.f.precPresent {
				p.f.prec, p.f.precPresent = 0, true
			}
		}
		if i >= end {
			p.buf = append(p.buf, "%!(NOVERB)"...)
			break
		}
		verb, size := utf8.DecodeRuneInString(format[i:])
		i += size
		switch {
		case verb == '%':
			p.buf = append(p.buf, '%')
			continue
		case argNum >= len(a):
			p.buf = append(p.buf, "%!"...)
			p.buf = utf8.AppendRune(p.buf, verb)
			p.buf = append(p.buf, "(MISSING)"...)
			continue
		case verb == 'w':
			p.wrapped = append(p.wrapped, argNum)
			fallthrough
		case verb == 'v':
			p.f.sharpV, p.f.sharp = p.f.sharp, false
			p.f.plusV, p.f.plus = p.f.plus, false
		}
		p.printArg(a[argNum], verb)
		argNum++
	}
	if argNum < len(a) {
		p.f = flags{}
		p.buf = append(p.buf, "%!(EXTRA "...)
		for i, arg := range a[argNum:] {
			if i > 0 {
				p.buf = append(p.buf, ", "...)
			}
			if arg == nil {
				p.buf = append(p.buf, "<nil>"...)
			} else {
				p.buf = append(p.buf, reflect.TypeOf(arg).String()...)
				p.buf = append(p.buf, '=')
				p.printArg(arg, 'v')
			}
		}
		p.buf = append(p.buf, ')')
	}
}

func (p *printer) printArg(arg any, verb rune) {
	p.arg = arg
	p.value = reflect.Value{}
	if arg == nil {
		if verb == 'v' {
			p.padString("<nil>")
		} else {
			p.badVerb(verb)
		}
		return
	}
	if p.f.sharpV || verb == 'T' || verb == 'p' {
		p.unsupported(verb)
		return
	}
	switch v := arg.(type) {
	case bool:
		p.fmtBool(v, verb)
	case int:
		p.fmtInteger(uint64(v), true, verb)
	case int8:
		p.fmtInteger(uint64(v), true, verb)
	case int16:
		p.fmtInteger(uint64(v), true, verb)
	case int32:
		p.fmtInteger(uint64(v), true, verb)
	case int64:
		p.fmtInteger(uint64(v), true, verb)
	case uint:
		p.fmtInteger(uint64(v), false, verb)
	case uint8:
		p.fmtInteger(uint64(v), false, verb)
	case uint16:
		p.fmtInteger(uint64(v), false, verb)
	case uint32:
		p.fmtInteger(uint64(v), false, verb)
	case uint64:
		p.fmtInteger(v, false, verb)
	case uintptr:
		p.fmtInteger(uint64(v), false, verb)
	case string:
		p.fmtString(v, verb)
	case []byte:
		p.fmtBytes(v, verb)
	default:
		if !p.handleMethods(verb) {
			p.printValue(reflect.ValueOf(v), verb, 0)
		}
	}
}

// handleMethods prints an error or Stringer as fmt does; it reports whether
// it printed.
func (p *printer) handleMethods(verb rune) (handled bool) {
	if p.erroring {
		return false
	}
	if verb == 'w' {
		if _, ok := p.arg.(error); !ok || !p.wrapErrs {
			p.badVerb(verb)
			return true
		}
		verb = 'v'
	}
	switch verb {
	case 'v', 's', 'x', 'X', 'q':
		switch v := p.arg.(type) {
		case error:
			handled = true
			defer p.catchPanic(p.arg, verb, "Error")
			p.fmtString(v.Error(), verb)
			return
		case Stringer:
			handled = true
			defer p.catchPanic(p.arg, verb, "String")
			p.fmtString(v.String(), verb)
			return
		}
	}
	return false
}

// catchPanic prints <nil> for a method called on a nil pointer and a
// PANIC marker for any other panic, as fmt does.
func (p *printer) catchPanic(arg any, verb rune, method string) {
	err := recover()
	if err == nil {
		return
	}
	if v := reflect.ValueOf(arg); v.Kind() == reflect.Pointer && v.IsNil() {
		p.buf = append(p.buf, "<nil>"...)
		return
	}
	oldFlags := p.f
	p.f = flags{}
	p.buf = append(p.buf, "%!"...)
	p.buf = utf8.AppendRune(p.buf, verb)
	p.buf = append(p.buf, "(PANIC="...)
	p.buf = append(p.buf, method...)
	p.buf = append(p.buf, " method: "...)
	p.erroring = true
	p.printArg(err, 'v')
	p.erroring = false
	p.buf = append(p.buf, ')')
	p.f = oldFlags
}

func (p *printer) badVerb(verb rune) {
	p.erroring = true
	p.buf = append(p.buf, "%!"...)
	p.buf = utf8.AppendRune(p.buf, verb)
	p.buf = append(p.buf, '(')
	switch {
	case p.arg != nil:
		p.buf = append(p.buf, reflect.TypeOf(p.arg).String()...)
		p.buf = append(p.buf, '=')
		p.printArg(p.arg, 'v')
	case p.value.IsValid():
		p.buf = append(p.buf, p.value.Type().String()...)
		p.buf = append(p.buf, '=')
		p.printValue(p.value, 'v', 0)
	default:
		p.buf = append(p.buf, "<nil>"...)
	}
	p.buf = append(p.buf, ')')
	p.erroring = false
}

// unsupported marks what fmt would print and this package does not.
func (p *printer) unsupported(verb rune) {
	p.buf = append(p.buf, "%!"...)
	p.buf = utf8.AppendRune(p.buf, verb)
	p.buf = append(p.buf, '(')
	if p.arg != nil {
		p.buf = append(p.buf, reflect.TypeOf(p.arg).String()...)
	} else if p.value.IsValid() {
		p.buf = append(p.buf, p.value.Type().String()...)
	}
	p.buf = append(p.buf, ')')
}

// printValue prints the named kinds fmt reaches through reflection. It
// never calls Value.Interface: that keeps reflect's method-call machinery
// (about 200 KB) in a module. Elements with methods are marked unsupported
// (fmt would call their String method).
func (p *printer) printValue(v reflect.Value, verb rune, depth int) {
	p.arg = nil
	p.value = v
	if depth > 0 && v.IsValid() && v.NumMethod() > 0 {
		p.unsupported(verb)
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		p.fmtBool(v.Bool(), verb)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		p.fmtInteger(uint64(v.Int()), true, verb)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		p.fmtInteger(v.Uint(), false, verb)
	case reflect.String:
		p.fmtString(v.String(), verb)
	case reflect.Slice, reflect.Array:
		t := v.Type()
		if t.Elem().Kind() == reflect.Uint8 && (verb == 's' || verb == 'q' || verb == 'x' || verb == 'X') {
			var b []byte
			if v.Kind() == reflect.Slice || v.CanAddr() {
				b = v.Bytes()
			} else {
				b = make([]byte, v.Len())
				for i := range b {
					b[i] = byte(v.Index(i).Uint())
				}
			}
			p.fmtBytes(b, verb)
			return
		}
		if !printable(t.Elem()) {
			p.unsupported(verb)
			return
		}
		p.buf = append(p.buf, '[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				p.buf = append(p.buf, ' ')
			}
			p.printValue(v.Index(i), verb, depth+1)
		}
		p.buf = append(p.buf, ']')
	default:
		p.unsupported(verb)
	}
}

// printable reports whether elements of type t print here as in fmt.
func printable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.String:
		return t.NumMethod() == 0
	case reflect.Slice, reflect.Array:
		return printable(t.Elem())
	}
	return false
}

func (p *printer) fmtBool(v bool, verb rune) {
	switch verb {
	case 't', 'v':
		if v {
			p.padString("true")
		} else {
			p.padString("false")
		}
	default:
		p.badVerb(verb)
	}
}

func (p *printer) fmtInteger(v uint64, signed bool, verb rune) {
	switch verb {
	case 'v', 'd':
		p.integer(v, 10, signed, ldigits)
	case 'b':
		p.integer(v, 2, signed, ldigits)
	case 'o':
		p.integer(v, 8, signed, ldigits)
	case 'x':
		p.integer(v, 16, signed, ldigits)
	case 'X':
		p.integer(v, 16, signed, udigits)
	case 'c':
		r := rune(v)
		if v > utf8.MaxRune {
			r = utf8.RuneError
		}
		p.pad(utf8.AppendRune(nil, r))
	case 'q':
		r := rune(v)
		if v > utf8.MaxRune {
			r = utf8.RuneError
		}
		if p.f.plus {
			p.pad(strconv.AppendQuoteRuneToASCII(nil, r))
		} else {
			p.pad(strconv.AppendQuoteRune(nil, r))
		}
	default:
		p.badVerb(verb)
	}
}

// integer is fmt's fmtInteger: precision or zero flag as leading zeros,
// then the 0x/0b/0 prefix and the sign, then the padding.
func (p *printer) integer(u uint64, base int, signed bool, digits string) {
	f := &p.f
	negative := signed && int64(u) < 0
	if negative {
		u = -u
	}
	prec := 0
	if f.precPresent {
		prec = f.prec
		if prec == 0 && u == 0 {
			zero := f.zero
			f.zero = false
			p.padding(f.wid)
			f.zero = zero
			return
		}
	} else if f.zero && !f.minus && f.widPresent {
		prec = f.wid
		if negative || f.plus || f.space {
			prec--
		}
	}
	buf := make([]byte, 68+f.wid+f.prec)
	i := len(buf)
	switch base {
	case 10:
		for u >= 10 {
			i--
			next := u / 10
			buf[i] = byte('0' + u - next*10)
			u = next
		}
	case 16:
		for u >= 16 {
			i--
			buf[i] = digits[u&0xF]
			u >>= 4
		}
	case 8:
		for u >= 8 {
			i--
			buf[i] = byte('0' + u&7)
			u >>= 3
		}
	case 2:
		for u >= 2 {
			i--
			buf[i] = byte('0' + u&1)
			u >>= 1
		}
	}
	i--
	buf[i] = digits[u]
	for i > 0 && prec > len(buf)-i {
		i--
		buf[i] = '0'
	}
	if f.sharp {
		switch base {
		case 2:
			i--
			buf[i] = 'b'
			i--
			buf[i] = '0'
		case 8:
			if buf[i] != '0' {
				i--
				buf[i] = '0'
			}
		case 16:
			i--
			buf[i] = digits[16]
			i--
			buf[i] = '0'
		}
	}
	if negative {
		i--
		buf[i] = '-'
	} else if f.plus {
		i--
		buf[i] = '+'
	} else if f.space {
		i--
		buf[i] = ' '
	}
	zero := f.zero
	f.zero = false
	p.pad(buf[i:])
	f.zero = zero
}

func (p *printer) fmtString(v string, verb rune) {
	switch verb {
	case 'v', 's':
		p.padString(p.truncate(v))
	case 'x':
		p.hex(v, ldigits)
	case 'X':
		p.hex(v, udigits)
	case 'q':
		s := p.truncate(v)
		if p.f.sharp && strconv.CanBackquote(s) {
			p.padString("`" + s + "`")
		} else if p.f.plus {
			p.pad(strconv.AppendQuoteToASCII(nil, s))
		} else {
			p.pad(strconv.AppendQuote(nil, s))
		}
	default:
		p.badVerb(verb)
	}
}

func (p *printer) fmtBytes(v []byte, verb rune) {
	switch verb {
	case 'v', 'd':
		p.buf = append(p.buf, '[')
		for i, c := range v {
			if i > 0 {
				p.buf = append(p.buf, ' ')
			}
			p.integer(uint64(c), 10, false, ldigits)
		}
		p.buf = append(p.buf, ']')
	case 's':
		p.padString(p.truncate(string(v)))
	case 'x':
		p.hex(string(v), ldigits)
	case 'X':
		p.hex(string(v), udigits)
	case 'q':
		p.fmtString(string(v), 'q')
	default:
		p.printValue(reflect.ValueOf(v), verb, 0)
	}
}

// truncate applies the precision to s, counted in runes.
func (p *printer) truncate(s string) string {
	if p.f.precPresent {
		n := p.f.prec
		for i := range s {
			n--
			if n < 0 {
				return s[:i]
			}
		}
	}
	return s
}

// hex is fmt's fmtSbx: two digits a byte, 0x once with '#', each byte
// 0x-prefixed and spaced with ' ' and '#'.
func (p *printer) hex(s string, digits string) {
	f := &p.f
	length := len(s)
	if f.precPresent && f.prec < length {
		length = f.prec
	}
	width := 2 * length
	if width > 0 {
		if f.space {
			if f.sharp {
				width *= 2
			}
			width += length - 1
		} else if f.sharp {
			width += 2
		}
	} else {
		if f.widPresent {
			p.padding(f.wid)
		}
		return
	}
	if f.widPresent && f.wid > width && !f.minus {
		p.padding(f.wid - width)
	}
	if f.sharp {
		p.buf = append(p.buf, '0', digits[16])
	}
	for i := 0; i < length; i++ {
		if f.space && i > 0 {
			p.buf = append(p.buf, ' ')
			if f.sharp {
				p.buf = append(p.buf, '0', digits[16])
			}
		}
		c := s[i]
		p.buf = append(p.buf, digits[c>>4], digits[c&0xF])
	}
	if f.widPresent && f.wid > width && f.minus {
		p.padding(f.wid - width)
	}
}

func (p *printer) padding(n int) {
	if n <= 0 {
		return
	}
	c := byte(' ')
	if p.f.zero && !p.f.minus {
		c = '0'
	}
	for ; n > 0; n-- {
		p.buf = append(p.buf, c)
	}
}

func (p *printer) pad(b []byte) {
	if !p.f.widPresent || p.f.wid == 0 {
		p.buf = append(p.buf, b...)
		return
	}
	n := p.f.wid - utf8.RuneCount(b)
	if !p.f.minus {
		p.padding(n)
		p.buf = append(p.buf, b...)
	} else {
		p.buf = append(p.buf, b...)
		p.padding(n)
	}
}

func (p *printer) padString(s string) {
	if !p.f.widPresent || p.f.wid == 0 {
		p.buf = append(p.buf, s...)
		return
	}
	n := p.f.wid - utf8.RuneCountInString(s)
	if !p.f.minus {
		p.padding(n)
		p.buf = append(p.buf, s...)
	} else {
		p.buf = append(p.buf, s...)
		p.padding(n)
	}
}
