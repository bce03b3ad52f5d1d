// The thin Node-API layer over sys.cc: converts arguments, turns -errno into
// errors shaped like Node's fs errors, and runs blocking waits on a thread of
// their own. All policy (retries, queues, deadlines) lives in TypeScript.
#include <napi.h>
#include <uv.h>

#include <string>
#include <sys/file.h>
#include <thread>

#include "sys.h"

namespace {

// Same shape as Node's fs errors: "EBADF: bad file descriptor, flock",
// with .errno (negative, as libuv reports it), .code and .syscall.
Napi::Value SysErrorValue(Napi::Env env, int err, const char* syscall);
Napi::Value ThrowSys(Napi::Env env, int err, const char* syscall) {
  Napi::Error(env, SysErrorValue(env, err, syscall)).ThrowAsJavaScriptException();
  return env.Undefined();
}
Napi::Value SysErrorValue(Napi::Env env, int err, const char* syscall) {
  std::string code = uv_err_name(err);
  std::string msg = code + ": " + uv_strerror(err) + ", " + syscall;
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("code", Napi::String::New(env, code));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e.Value();
}

bool ArgInts(const Napi::CallbackInfo& info, int* fd, int* op) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "Expected (fd: number, operation: number)").ThrowAsJavaScriptException();
    return false;
  }
  *fd = info[0].As<Napi::Number>().Int32Value();
  *op = info[1].As<Napi::Number>().Int32Value();
  return true;
}

bool IsContention(int err) { return err == -EWOULDBLOCK || err == -EAGAIN; }

std::string IdKey(const tse::FileId& id) {
  return std::to_string(id.dev) + ":" + std::to_string(id.ino);
}

// flock(fd, op) -> true when granted, false when LOCK_NB met contention.
Napi::Value Flock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd, op;
  if (!ArgInts(info, &fd, &op)) return env.Undefined();
  int r = tse::Flock(fd, op);
  if (r == 0) return Napi::Boolean::New(env, true);
  if ((op & LOCK_NB) && IsContention(r)) return Napi::Boolean::New(env, false);
  return ThrowSys(env, r, "flock");
}

// lockChecked(fd, op, path) -> 0 granted and the path still names this
// descriptor's file; 1 contended (LOCK_NB); 2 granted but the path now names
// another file, or none (deleted/replaced lock file). In case 2 the lock is
// still held: the caller decides what to do. One call keeps an uncontended
// acquire at a single crossing of the JS/C++ boundary.
Napi::Value LockChecked(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd, op;
  if (!ArgInts(info, &fd, &op)) return env.Undefined();
  if (info.Length() < 3 || !info[2].IsString()) {
    Napi::TypeError::New(env, "Expected path: string").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path = info[2].As<Napi::String>().Utf8Value();
  int r = tse::Flock(fd, op);
  if (r != 0) {
    if ((op & LOCK_NB) && IsContention(r)) return Napi::Number::New(env, 1);
    return ThrowSys(env, r, "flock");
  }
  tse::FileId mine, named;
  r = tse::FdIdentity(fd, &mine);
  if (r != 0) {
    tse::Flock(fd, LOCK_UN);
    return ThrowSys(env, r, "fstat");
  }
  // Any failure to stat the path (ENOENT above all) means the path no longer
  // names our file; reopening will surface the real error if there is one.
  if (tse::PathIdentity(path.c_str(), &named) != 0) return Napi::Number::New(env, 2);
  bool same = mine.dev == named.dev && mine.ino == named.ino && mine.nlink > 0;
  return Napi::Number::New(env, same ? 0 : 2);
}

// identity(fd) -> "dev:ino", the key of the in-process registry.
Napi::Value Identity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "Expected fd: number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  tse::FileId id;
  int r = tse::FdIdentity(info[0].As<Napi::Number>().Int32Value(), &id);
  if (r != 0) return ThrowSys(env, r, "fstat");
  return Napi::String::New(env, IdKey(id));
}

// One blocking wait. The thread owns nothing but the wait itself: the fd
// belongs to JavaScript, which must keep it open until the callback runs.
struct Wait {
  Napi::ThreadSafeFunction tsfn;
  int fd;
  int op;
  int result = 0;
};

void DeliverWait(Napi::Env env, Napi::Function callback, Wait* w) {
  if (env == nullptr || callback.IsEmpty()) return;
  Napi::Value err = w->result == 0 ? env.Null() : SysErrorValue(env, w->result, "flock");
  callback.Call({err});
}

Napi::Value Unref(const Napi::CallbackInfo& info) {
  auto* w = static_cast<Wait*>(info.Data());
  w->tsfn.Unref(info.Env());
  return info.Env().Undefined();
}

// waitLock(fd, op, callback(err|null)) -> unref(): blocks in flock(2) on a
// dedicated thread, never on the libuv threadpool (which fs.* shares).
// unref() lets the process exit while an abandoned wait is still parked.
Napi::Value WaitLock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd, op;
  if (!ArgInts(info, &fd, &op)) return env.Undefined();
  if (info.Length() < 3 || !info[2].IsFunction()) {
    Napi::TypeError::New(env, "Expected callback: function").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* w = new Wait();
  w->fd = fd;
  w->op = op & ~LOCK_NB;
  w->tsfn = Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "tse_flock_wait", 0, 1,
                                          [](Napi::Env, Wait* done) { delete done; }, w);
  Napi::Function unref = Napi::Function::New(env, Unref, "unref", w);
  std::thread([w]() {
    w->result = tse::Flock(w->fd, w->op);
    // napi_closing: the environment (a terminated worker) is gone, so nobody
    // will ever read this result. Give back what we got so it cannot leak.
    if (w->tsfn.BlockingCall(w, DeliverWait) != napi_ok && w->result == 0) tse::Flock(w->fd, LOCK_UN);
    w->tsfn.Release();
  }).detach();
  return unref;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("flock", Napi::Function::New(env, Flock, "flock"));
  exports.Set("lockChecked", Napi::Function::New(env, LockChecked, "lockChecked"));
  exports.Set("identity", Napi::Function::New(env, Identity, "identity"));
  exports.Set("waitLock", Napi::Function::New(env, WaitLock, "waitLock"));
  exports.Set("LOCK_SH", Napi::Number::New(env, LOCK_SH));
  exports.Set("LOCK_EX", Napi::Number::New(env, LOCK_EX));
  exports.Set("LOCK_UN", Napi::Number::New(env, LOCK_UN));
  exports.Set("LOCK_NB", Napi::Number::New(env, LOCK_NB));
  return exports;
}

}  // namespace

NODE_API_MODULE(tse_flock, Init)
