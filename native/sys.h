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

}  // namespace tse
