// Package sudo knows who typed sudo: a file tlmon writes for the user (an
// export, the config file) is theirs, as if they had written it.
package sudo

import (
	"os"
	"strconv"
)

// GiveToUser makes path, which tlmon running as root under sudo made, the
// invoking user's (SUDO_UID, SUDO_GID); elsewhere it does nothing. A link
// at path is changed itself, never what it points to.
func GiveToUser(path string) {
	uid, err1 := strconv.Atoi(os.Getenv("SUDO_UID"))
	gid, err2 := strconv.Atoi(os.Getenv("SUDO_GID"))
	if err1 == nil && err2 == nil && os.Geteuid() == 0 {
		os.Lchown(path, uid, gid)
	}
}
