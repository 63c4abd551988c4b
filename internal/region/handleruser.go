package region

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// handlerUser is the OS user handlers run as (--handler-user): its
// credential and the environment that names it.
type handlerUser struct {
	cred *syscall.Credential
	env  []string // HOME, USER, LOGNAME of that user
}

// lookupHandlerUser resolves --handler-user. The region must be able to
// switch users (root), and the user must not be the region's own: that
// would give handlers the region's files.
func lookupHandlerUser(name string) (*handlerUser, error) {
	if name == "" {
		return nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("--handler-user %s: %w", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("--handler-user %s: uid %q gid %q are not numbers", name, u.Uid, u.Gid)
	}
	if int(uid) == os.Geteuid() {
		return nil, fmt.Errorf("--handler-user %s: that is the region's own user; name another so handlers cannot read the data directory", name)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("--handler-user %s: the region runs as uid %d and cannot start processes as another user (run it as root)", name, os.Geteuid())
	}
	return &handlerUser{
		cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true},
		env:  []string{"HOME=" + u.HomeDir, "USER=" + u.Username, "LOGNAME=" + u.Username},
	}, nil
}

// protectDataDir makes the data directory traversable but not listable
// by other users (0711): handlers running as another user reach deployed
// packages (DataDir/apps, 0755) but not the master key (0600) or the
// JetStream store (0750).
func protectDataDir(dir string) error {
	if err := os.Chmod(dir, 0o711); err != nil {
		return fmt.Errorf("protect data directory %s: %w", dir, err)
	}
	return nil
}

func (h *handlerUser) credential() *syscall.Credential {
	if h == nil {
		return nil
	}
	return h.cred
}
