// Plain syscall wrappers: no Node, no policy. Every function returns 0 on
// success or -errno on failure, so the binding can turn the value into a
// Node-style error without touching the global errno again.
#pragma once

#include <cstdint>

namespace tse {

struct FileId {
  uint64_t dev;
  uint64_t ino;
  uint64_t nlink;
};

// flock(2) with EINTR retried (a signal must not look like contention or
// failure to the caller).
int Flock(int fd, int operation);

// fstat(2) of an open descriptor, reduced to what identifies the file.
int FdIdentity(int fd, FileId* out);

// stat(2) of a path (following symlinks, as open(2) does).
int PathIdentity(const char* path, FileId* out);

// Flushes a descriptor's data and metadata to stable storage: fsync(2) on
// Linux; on macOS fcntl(F_FULLFSYNC), since fsync there leaves the drive's
// cache unflushed, with the same fallbacks as Node's fs.fsync (libuv): the
// barrier variant, then fsync, for file systems without F_FULLFSYNC.
int Fsync(int fd);

// rename(2).
int Rename(const char* from, const char* to);

// Opens a directory read-only, Fsync()s it and closes it: what makes a rename
// in it survive a power cut. `*syscall` names the step that failed.
int SyncDirectory(const char* path, const char** syscall);

}  // namespace tse
