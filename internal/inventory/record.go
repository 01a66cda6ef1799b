package inventory

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"
)

// Software event actions (RFC 8412 §5.11).
const (
	Creation   uint8 = 1
	Deletion   uint8 = 2
	Alteration uint8 = 3
)

// RecordFile is the name of the event record in its directory.
const RecordFile = "sw-events.json"

// MaxEvents is how many events a Record keeps; older ones are dropped
// (FirstEID says which is the earliest kept) so the file stays small.
const MaxEvents = 10000

// maxRecordFile bounds the record file read back.
const maxRecordFile = 64 << 20

// Event is one change of the installed software noticed between two
// readings.
type Event struct {
	EID    uint32  `json:"eid"`
	Time   int64   `json:"time"` // Unix seconds
	Action uint8   `json:"action"`
	Item   Package `json:"item"` // for a deletion, the software as it was
}

// Record is the host's record of inventory changes, kept between runs
// (RFC 8412 §3.7: events with EIDs within an EID epoch).
type Record struct {
	Epoch   uint32    `json:"epoch"`
	LastEID uint32    `json:"last_eid"`
	Items   []Package `json:"items"` // the last reading
	Events  []Event   `json:"events"`
}

// FirstEID is the earliest EID still kept, 0 when no event is.
func (r *Record) FirstEID() uint32 {
	if len(r.Events) == 0 {
		return 0
	}
	return r.Events[0].EID
}

// key identifies one piece of software across readings: the same name and
// architecture from the same source with another version is an alteration.
func key(p Package) string { return string(p.Manager) + "\x00" + p.Name + "\x00" + p.Arch }

// Update records the differences between the last reading and items as
// events at time now (a new version is the deletion of the old one and the
// creation of the new one; Alteration is not produced), and keeps items as the last reading. A Record without
// an epoch (new) gets a random one and no events: its first reading is the
// baseline. It returns the number of events added.
func (r *Record) Update(items []Package, now time.Time) int {
	if r.Epoch == 0 {
		var b [4]byte
		for r.Epoch == 0 {
			rand.Read(b[:])
			r.Epoch = binary.BigEndian.Uint32(b[:])
		}
		r.Items = append([]Package(nil), items...)
		return 0
	}
	old := make(map[string]Package, len(r.Items))
	for _, p := range r.Items {
		old[key(p)] = p
	}
	added := 0
	add := func(action uint8, p Package) {
		if r.LastEID == ^uint32(0) {
			return // the epoch is full (2^32-1 events): nothing more is recorded
		}
		r.LastEID++
		r.Events = append(r.Events, Event{EID: r.LastEID, Time: now.Unix(), Action: action, Item: p})
		added++
	}
	seen := make(map[string]bool, len(items))
	for _, p := range items {
		k := key(p)
		if seen[k] {
			continue
		}
		seen[k] = true
		if o, ok := old[k]; !ok {
			add(Creation, p)
		} else if o.Version != p.Version {
			// A software identifier names the version (RFC 8412 §3.4:
			// strongSwan's form): an upgrade removes one piece of software
			// and installs another.
			add(Deletion, o)
			add(Creation, p)
		}
	}
	var gone []Package
	for k, p := range old {
		if !seen[k] {
			gone = append(gone, p)
		}
	}
	sort.Slice(gone, func(i, j int) bool { return key(gone[i]) < key(gone[j]) })
	for _, p := range gone {
		add(Deletion, p)
	}
	if len(r.Events) > MaxEvents {
		r.Events = append([]Event(nil), r.Events[len(r.Events)-MaxEvents:]...)
	}
	r.Items = append([]Package(nil), items...)
	return added
}

// EventsFrom returns the kept events with EID ≥ eid.
func (r *Record) EventsFrom(eid uint32) []Event {
	i := sort.Search(len(r.Events), func(i int) bool { return r.Events[i].EID >= eid })
	return r.Events[i:]
}

// LoadRecord reads dir/RecordFile; a missing file is an empty Record. The
// file must be a regular file (a symbolic link is refused). Checking who
// owns dir and the file is the caller's.
func LoadRecord(dir string) (*Record, error) {
	p := filepath.Join(dir, RecordFile)
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return &Record{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inventory: %s: %w", p, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() || st.Size() > maxRecordFile {
		return nil, fmt.Errorf("inventory: %s is not a regular file of at most %d bytes", p, maxRecordFile)
	}
	var r Record
	if err := json.NewDecoder(f).Decode(&r); err != nil {
		return nil, fmt.Errorf("inventory: %s: %w", p, err)
	}
	if err := r.check(); err != nil {
		return nil, fmt.Errorf("inventory: %s: %w", p, err)
	}
	return &r, nil
}

// check refuses a record whose events are out of order or beyond LastEID.
func (r *Record) check() error {
	if len(r.Events) > MaxEvents || len(r.Items) > 4*MaxPackages {
		return errors.New("too many entries")
	}
	prev := uint32(0)
	for _, e := range r.Events {
		if e.EID <= prev || e.EID > r.LastEID || e.Action < Creation || e.Action > Alteration {
			return fmt.Errorf("event %d out of order or invalid", e.EID)
		}
		prev = e.EID
	}
	if r.Epoch == 0 && (r.LastEID != 0 || len(r.Items) != 0) {
		return errors.New("entries without an epoch")
	}
	return nil
}

// Save writes the record to dir/RecordFile atomically (a temporary file in
// dir, synced, renamed over the old one), mode 0600.
func (r *Record) Save(dir string) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".sw-events-*")
	if err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, RecordFile))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("inventory: saving the event record: %w", err)
	}
	return nil
}

// LockRecord takes an exclusive lock on dir's record (another imchost
// process updating it waits) and returns its release.
func LockRecord(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".sw-events.lock"), os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("inventory: locking the event record: %w", err)
	}
	return func() { f.Close() }, nil
}

// CheckStateDir checks the record's directory and every directory above
// it as sshd's StrictModes and the compilation cache do: owned by this user
// or root, and not writable by group or others (a directory above may be,
// with the sticky bit set, as /tmp is); and the record, when it exists,
// owned the same way and writable by no one else. The error says what to
// fix.
func CheckStateDir(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if fi, err := os.Lstat(filepath.Join(abs, RecordFile)); err == nil {
		if err := strictMode(filepath.Join(abs, RecordFile), fi, false); err != nil {
			return err
		}
	}
	for p := abs; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if err := strictMode(p, fi, p != abs && fi.Mode()&fs.ModeSticky != 0); err != nil {
			return err
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func strictMode(path string, fi fs.FileInfo, allowWrite bool) error {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("'%s' belongs to uid %d, not to this user (uid %d) or root; fix: chown %d '%s'",
			path, st.Uid, os.Geteuid(), os.Geteuid(), path)
	}
	if fi.Mode().Perm()&0o022 != 0 && !allowWrite {
		return fmt.Errorf("'%s' is writable by group or others (mode %04o); fix: chmod go-w '%s'",
			path, fi.Mode().Perm(), path)
	}
	return nil
}
