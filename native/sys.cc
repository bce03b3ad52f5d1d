#include "sys.h"

#include <cerrno>
#include <sys/file.h>
#include <sys/stat.h>

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

}  // namespace tse
