package pgmm

// The admin notice callback: C calls pgmmGoNotice with the cgo.Handle of
// the Go function.  (A file with //export may only declare C functions in
// its preamble; notice_c.go defines the shims.)

/*
#include <stdint.h>
*/
import "C"

import "runtime/cgo"

//export pgmmGoNotice
func pgmmGoNotice(handle C.uintptr_t, msg *C.char) {
	fn, ok := cgo.Handle(handle).Value().(func(string))
	if ok && fn != nil {
		fn(C.GoString(msg))
	}
}
