#include "sys.h"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tse {

int Flock(int fd, int operation) {
  for (;;) {
    if (flock(fd, operation) == 0) return 0;
    if (errno != EINTR) return -errno;
  }
}

static void Fill(const struct stat& st, FileId* out) {
  out->dev = static_cast<uint64_t>(st.st_dev);
  out->ino = static_cast<uint64_t>(st.st_ino);
  out->nlink = static_cast<uint64_t>(st.st_nlink);
}

int FdIdentity(int fd, FileId* out) {
  struct stat st;
  for (;;) {
    if (fstat(fd, &st) == 0) break;
    if (errno != EINTR) return -errno;
  }
  Fill(st, out);
  return 0;
}

int PathIdentity(const char* path, FileId* out) {
  struct stat st;
  for (;;) {
    if (stat(path, &st) == 0) break;
    if (errno != EINTR) return -errno;
  }
  Fill(st, out);
  return 0;
}

int Fsync(int fd) {
#if defined(__APPLE__)
  if (fcntl(fd, F_FULLFSYNC) == 0) return 0;
#ifdef F_BARRIERFSYNC
  if (fcntl(fd, F_BARRIERFSYNC) == 0) return 0;
#endif
#endif
  return fsync(fd) == 0 ? 0 : -errno;
}

int Rename(const char* from, const char* to) {
  return rename(from, to) == 0 ? 0 : -errno;
}

int SyncDirectory(const char* path, const char** syscall) {
  int fd;
  for (;;) {
    fd = open(path, O_RDONLY | O_CLOEXEC | O_DIRECTORY);
    if (fd >= 0) break;
    if (errno != EINTR) {
      *syscall = "open";
      return -errno;
    }
  }
  int r = Fsync(fd);
  *syscall = "fsync";
  close(fd);  // read-only: its close cannot lose data, and the fsync's result is the answer
  return r;
}

}  // namespace tse
