package tnccs

import "github.com/imchost/imchost/tnccs/pb"

// pbState is a PB-TNC connection state, RFC 5793 Section 3.2:
//
//	             Receive CRETRY        SRETRY
//	                  or SRETRY   +----------------+
//	                   +--+       |                |
//	                   v  |       v                |
//	                  +---------+  CRETRY  +---------+
//	  CDATA           | Server  |<---------| Decided | CLOSE
//	  +-------------->| Working |--------->|         |-------+
//	  |               +---------+  RESULT  +---------+       |
//	  |                 ^    |  |                            v
//	  |                 |    |  +---------------------->=======
//	========            |    |      CLOSE               " End "
//	" Init "       CDATA|    |SDATA                     =======
//	========            |    |                           ^ ^
//	  |  |              |    v                           | |
//	  |  | SDATA      +---------+         CLOSE          | |
//	  |  +----------->| Client  |------------------------+ |
//	  |               | Working |                          |
//	  |               +---------+                          |
//	  |                                    CLOSE           |
//	  +----------------------------------------------------+
type pbState uint8

const (
	stateInit pbState = iota
	stateServerWorking
	stateClientWorking
	stateDecided
	stateEnd
)

var stateNames = [...]string{"Init", "Server Working", "Client Working", "Decided", "End"}

// String returns strongSwan's state name ("Server Working").
func (s pbState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

type edge struct {
	from pbState
	bt   pb.BatchType
}

// The four transition tables: who (client or server) sends or receives
// which batch type in which state, and the state that follows. Anything
// received that is not listed is a fatal Unexpected Batch Type; anything
// sent that is not listed is a bug of ours and refused.
var (
	clientSends = map[edge]pbState{
		{stateInit, pb.BatchCDATA}:           stateServerWorking,
		{stateInit, pb.BatchCLOSE}:           stateEnd,
		{stateServerWorking, pb.BatchCRETRY}: stateServerWorking,
		{stateServerWorking, pb.BatchCLOSE}:  stateEnd,
		{stateClientWorking, pb.BatchCDATA}:  stateServerWorking,
		{stateClientWorking, pb.BatchCRETRY}: stateServerWorking,
		{stateClientWorking, pb.BatchCLOSE}:  stateEnd,
		{stateDecided, pb.BatchCRETRY}:       stateServerWorking,
		{stateDecided, pb.BatchCLOSE}:        stateEnd,
		{stateEnd, pb.BatchCLOSE}:            stateEnd,
	}
	clientReceives = map[edge]pbState{
		{stateInit, pb.BatchSDATA}:           stateClientWorking,
		{stateInit, pb.BatchCLOSE}:           stateEnd,
		{stateServerWorking, pb.BatchSDATA}:  stateClientWorking,
		{stateServerWorking, pb.BatchSRETRY}: stateClientWorking,
		{stateServerWorking, pb.BatchRESULT}: stateDecided,
		{stateServerWorking, pb.BatchCLOSE}:  stateEnd,
		{stateClientWorking, pb.BatchCLOSE}:  stateEnd,
		{stateDecided, pb.BatchSRETRY}:       stateServerWorking,
		{stateDecided, pb.BatchCLOSE}:        stateEnd,
		{stateEnd, pb.BatchCLOSE}:            stateEnd,
	}
	serverSends = map[edge]pbState{
		{stateInit, pb.BatchCLOSE}:           stateEnd,
		{stateServerWorking, pb.BatchSDATA}:  stateClientWorking,
		{stateServerWorking, pb.BatchSRETRY}: stateClientWorking,
		{stateServerWorking, pb.BatchRESULT}: stateDecided,
		{stateServerWorking, pb.BatchCLOSE}:  stateEnd,
		{stateClientWorking, pb.BatchSRETRY}: stateClientWorking,
		{stateClientWorking, pb.BatchCLOSE}:  stateEnd,
		{stateDecided, pb.BatchSRETRY}:       stateServerWorking,
		{stateDecided, pb.BatchCLOSE}:        stateEnd,
		{stateEnd, pb.BatchCLOSE}:            stateEnd,
	}
	serverReceives = map[edge]pbState{
		{stateInit, pb.BatchCDATA}:           stateServerWorking,
		{stateInit, pb.BatchCLOSE}:           stateEnd,
		{stateServerWorking, pb.BatchCRETRY}: stateServerWorking,
		{stateServerWorking, pb.BatchCLOSE}:  stateEnd,
		{stateClientWorking, pb.BatchCDATA}:  stateServerWorking,
		{stateClientWorking, pb.BatchCRETRY}: stateServerWorking,
		{stateClientWorking, pb.BatchCLOSE}:  stateEnd,
		{stateDecided, pb.BatchCRETRY}:       stateServerWorking,
		{stateDecided, pb.BatchCLOSE}:        stateEnd,
		{stateEnd, pb.BatchCLOSE}:            stateEnd,
	}
)

// transition returns the state after server (or client) sends (or
// receives) a batch of type bt in state s.
func transition(server, sending bool, s pbState, bt pb.BatchType) (pbState, bool) {
	var t map[edge]pbState
	switch {
	case server && sending:
		t = serverSends
	case server:
		t = serverReceives
	case sending:
		t = clientSends
	default:
		t = clientReceives
	}
	n, ok := t[edge{s, bt}]
	return n, ok
}
