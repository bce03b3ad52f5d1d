// The thin Node-API layer over sys.cc: converts arguments, turns -errno into
// errors shaped like Node's fs errors, and runs blocking waits on a thread of
// their own. All policy (retries, queues, deadlines) lives in TypeScript.
#include <napi.h>
#include <uv.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <vector>
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

// The file a descriptor was opened on, as JavaScript caches it in one Buffer:
// st_dev and st_ino as two native uint64 (filled by identity()), then the
// path, NUL-terminated. One argument, no string conversion per call.
struct Expected {
  const char* path;
  uint64_t dev;
  uint64_t ino;
};

constexpr size_t kIdentityHeader = 16;

bool ArgExpected(const Napi::CallbackInfo& info, size_t at, Expected* out) {
  if (info.Length() <= at || !info[at].IsBuffer() ||
      info[at].As<Napi::Buffer<char>>().Length() <= kIdentityHeader) {
    Napi::TypeError::New(info.Env(), "Expected an identity Buffer").ThrowAsJavaScriptException();
    return false;
  }
  char* data = info[at].As<Napi::Buffer<char>>().Data();
  std::memcpy(&out->dev, data, 8);
  std::memcpy(&out->ino, data + 8, 8);
  out->path = data + kIdentityHeader;
  return true;
}

// After a grant: does the path still name the file we locked? Any failure to
// stat it (ENOENT above all) means no; reopening will surface a real error.
// A path that names our inode implies a link count > 0.
int StillNamed(const Expected& e) {
  tse::FileId named;
  if (tse::PathIdentity(e.path, &named) != 0) return 2;
  return named.dev == e.dev && named.ino == e.ino ? 0 : 2;
}

// lockChecked(fd, op, identity) -> 0 granted and the path
// still names this descriptor's file; 1 contended (LOCK_NB); 2 granted but the
// path now names another file, or none (lock file deleted or replaced). In
// case 2 the lock is still held: the caller decides. One call keeps an
// acquire, check included, at a single crossing of the JS/C++ boundary.
Napi::Value LockChecked(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd, op;
  Expected e;
  if (!ArgInts(info, &fd, &op) || !ArgExpected(info, 2, &e)) return env.Undefined();
  int r = tse::Flock(fd, op);
  if (r != 0) {
    if ((op & LOCK_NB) && IsContention(r)) return Napi::Number::New(env, 1);
    return ThrowSys(env, r, "flock");
  }
  return Napi::Number::New(env, StillNamed(e));
}

// identity(fd, buffer) -> "dev:ino", the registry key; also writes dev and
// ino into the buffer's header for lockChecked and waitLock.
Napi::Value Identity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsBuffer() ||
      info[1].As<Napi::Buffer<char>>().Length() <= kIdentityHeader) {
    Napi::TypeError::New(env, "Expected (fd: number, identity: Buffer)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  tse::FileId id;
  int r = tse::FdIdentity(info[0].As<Napi::Number>().Int32Value(), &id);
  if (r != 0) return ThrowSys(env, r, "fstat");
  char* data = info[1].As<Napi::Buffer<char>>().Data();
  std::memcpy(data, &id.dev, 8);
  std::memcpy(data + 8, &id.ino, 8);
  return Napi::String::New(env, IdKey(id));
}

struct EnvState;

// One blocking wait. The fd belongs to JavaScript, which keeps it open until
// the callback has run; the wait only borrows it.
//
// The result comes back through a uv_async_t of its own rather than a
// Napi::ThreadSafeFunction: we measured the latter's extra queueing at some
// 20-30 us per hand-off, a third of the whole release-to-acquire latency.
struct Wait {
  uv_async_t async;
  EnvState* state = nullptr;
  napi_ref callback = nullptr;
  int fd = -1;
  int op = 0;
  std::string path;
  Expected expected{};
  int result = 0;  // 0 or -errno from flock
  int status = 0;  // when granted: 0 still named by the path, 2 not
  std::mutex mu;   // guards the two flags below against the waiter thread
  bool orphaned = false;  // the environment is gone: nobody will read the result
  std::atomic<int> owners{2};  // the waiter thread and the event loop
};

void Disown(Wait* w) {
  if (--w->owners == 0) delete w;
}

// Per environment (main thread or worker): its pending waits, so that a
// worker torn down mid-wait neither leaks a granted lock nor gets a callback.
struct EnvState {
  napi_env env = nullptr;
  napi_async_context context = nullptr;
  std::set<Wait*> pending;
};

void OnClosed(uv_handle_t* h) { Disown(static_cast<Wait*>(h->data)); }

void OnResult(uv_async_t* a) {
  Wait* w = static_cast<Wait*>(a->data);
  EnvState* st = w->state;
  st->pending.erase(w);
  napi_env env = st->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb, recv, argv[2], ret;
  napi_get_reference_value(env, w->callback, &cb);
  napi_get_global(env, &recv);
  if (w->result != 0) {
    argv[0] = SysErrorValue(Napi::Env(env), w->result, "flock");
    napi_get_null(env, &argv[1]);
  } else {
    napi_get_null(env, &argv[0]);
    napi_create_int32(env, w->status, &argv[1]);
  }
  // make_callback, not call: it drains microtasks and nextTicks afterwards,
  // as any libuv-driven callback in Node does.
  if (napi_make_callback(env, st->context, recv, cb, 2, argv, &ret) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
    }
  }
  napi_delete_reference(env, w->callback);
  w->callback = nullptr;
  napi_close_handle_scope(env, scope);
  uv_close(reinterpret_cast<uv_handle_t*>(&w->async), OnClosed);
}

void RunWait(Wait* w) {
  w->result = tse::Flock(w->fd, w->op);
  if (w->result == 0) w->status = StillNamed(w->expected);
  {
    std::lock_guard<std::mutex> lk(w->mu);
    if (!w->orphaned) uv_async_send(&w->async);
  }
  // Orphaned: nobody will read this result. Do not touch w->fd: Node closes
  // the descriptors a worker opened when it exits, so the number may already
  // name another file. Closing the last descriptor released the lock anyway.
  Disown(w);
}

void CleanupEnv(void* arg) {
  auto* st = static_cast<EnvState*>(arg);
  for (Wait* w : st->pending) {
    {
      std::lock_guard<std::mutex> lk(w->mu);
      w->orphaned = true;
    }
    // A lock granted but never seen by JavaScript is released when Node closes
    // the worker's descriptors, which it does as the worker exits.
    napi_delete_reference(st->env, w->callback);
    uv_close(reinterpret_cast<uv_handle_t*>(&w->async), OnClosed);
  }
  st->pending.clear();
  napi_async_destroy(st->env, st->context);
  delete st;
}

// Parked waits run on threads of our own, never on the libuv threadpool that
// fs.* shares (fs-ext #49/#79). Threads are kept for a while after a wait so a
// busy lock does not pay a thread creation per contended acquire. The pool is
// process-wide and deliberately never destroyed: detached threads may still
// use it while the process exits.
class WaiterThreads {
 public:
  void Start(Wait* w) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (!idle_.empty()) {
        Slot* s = idle_.back();
        idle_.pop_back();
        s->wait = w;
        s->cv.notify_one();
        return;
      }
    }
    std::thread([this, w]() { Loop(w); }).detach();
  }

 private:
  struct Slot {
    std::condition_variable cv;
    Wait* wait = nullptr;
  };

  void Loop(Wait* w) {
    Slot self;
    for (;;) {
      RunWait(w);
      std::unique_lock<std::mutex> lk(mu_);
      idle_.push_back(&self);
      if (!self.cv.wait_for(lk, std::chrono::seconds(30), [&] { return self.wait != nullptr; })) {
        idle_.erase(std::find(idle_.begin(), idle_.end(), &self));
        return;
      }
      w = self.wait;
      self.wait = nullptr;
    }
  }

  std::mutex mu_;
  std::vector<Slot*> idle_;
};

WaiterThreads* threads = new WaiterThreads();

Napi::Value Unref(const Napi::CallbackInfo& info) {
  auto* w = static_cast<Wait*>(info.Data());
  uv_unref(reinterpret_cast<uv_handle_t*>(&w->async));
  return info.Env().Undefined();
}

// waitLock(fd, op, identity, callback(err, status)) -> unref()
// Blocks in flock(2) on a waiter thread, then checks the path as lockChecked
// does. unref() lets the process exit while an abandoned wait is parked; call
// it only before the callback has run.
Napi::Value WaitLock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* st = static_cast<EnvState*>(info.Data());
  int fd, op;
  Expected e;
  if (!ArgInts(info, &fd, &op) || !ArgExpected(info, 2, &e)) return env.Undefined();
  if (info.Length() < 4 || !info[3].IsFunction()) {
    Napi::TypeError::New(env, "Expected callback: function").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    Napi::Error::New(env, "no event loop").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* w = new Wait();
  w->state = st;
  w->fd = fd;
  w->op = op & ~LOCK_NB;
  w->path = e.path;  // own a copy: the Buffer may be collected meanwhile
  w->expected = e;
  w->expected.path = w->path.c_str();
  napi_create_reference(env, info[3], 1, &w->callback);
  uv_async_init(loop, &w->async, OnResult);
  w->async.data = w;
  st->pending.insert(w);
  Napi::Function unref = Napi::Function::New(env, Unref, "unref", w);
  threads->Start(w);
  return unref;
}

// One durable replace, once the new file's bytes are written: fsync of the
// new file, rename over the target, fsync of the directory, as one threadpool
// job. Each fs call is a round trip between the event loop and a pool thread
// (tens of microseconds each on a small VM, more than a small log's write);
// three of them in a row took two, plus the main thread's turn between them.
// JavaScript owns every decision: what a failure at each step means is
// io/durable-write.ts's, and the descriptor stays JavaScript's to close.
class Commit : public Napi::AsyncWorker {
 public:
  // `faults`: tests only, per step (file fsync, rename, directory sync) 0 to
  // run the syscall or -errno to report that instead without running it, as
  // a fault injected at the syscall boundary would.
  Commit(Napi::Function callback, int fd, std::string tmp, std::string target, std::string dir, const int32_t* faults)
      : Napi::AsyncWorker(callback, "tse_commit"), fd_(fd), tmp_(std::move(tmp)), target_(std::move(target)), dir_(std::move(dir)) {
    if (faults != nullptr) std::memcpy(faults_, faults, sizeof faults_);
  }

  void Execute() override {
    stage_ = 1;
    syscall_ = "fsync";
    err_ = faults_[0] != 0 ? faults_[0] : tse::Fsync(fd_);
    if (err_ != 0) return;
    stage_ = 2;
    syscall_ = "rename";
    err_ = faults_[1] != 0 ? faults_[1] : tse::Rename(tmp_.c_str(), target_.c_str());
    if (err_ != 0) return;
    stage_ = 3;
    syscall_ = "fsync";
    err_ = faults_[2] != 0 ? faults_[2] : tse::SyncDirectory(dir_.c_str(), &syscall_);
    if (err_ == 0) stage_ = 0;
  }

  // callback(err, stage): stage 0 done; else the step that failed, 1 file
  // fsync, 2 rename, 3 directory sync (the rename had happened).
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Value err = err_ == 0 ? env.Null() : SysErrorValue(env, err_, syscall_);
    Callback().Call({err, Napi::Number::New(env, stage_)});
  }

 private:
  int fd_;
  std::string tmp_, target_, dir_;
  int32_t faults_[3] = {0, 0, 0};
  int stage_ = 0;
  int err_ = 0;
  const char* syscall_ = "fsync";
};

// commitReplace(fd, tmp, target, dir, faults: Int32Array | null, callback(err, stage))
Napi::Value CommitReplace(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 6 || !info[0].IsNumber() || !info[1].IsString() || !info[2].IsString() || !info[3].IsString() ||
      !info[5].IsFunction()) {
    Napi::TypeError::New(env, "Expected (fd, tmp, target, dir, faults, callback)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int32_t* faults = nullptr;
  if (!info[4].IsNull() && !info[4].IsUndefined()) {
    Napi::TypedArray t = info[4].IsTypedArray() ? info[4].As<Napi::TypedArray>() : Napi::TypedArray();
    if (t.IsEmpty() || t.TypedArrayType() != napi_int32_array || t.ElementLength() != 3) {
      Napi::TypeError::New(env, "Expected faults: Int32Array(3)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    faults = t.As<Napi::Int32Array>().Data();
  }
  auto* job = new Commit(info[5].As<Napi::Function>(), info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::String>().Utf8Value(),
                         info[2].As<Napi::String>().Utf8Value(), info[3].As<Napi::String>().Utf8Value(), faults);
  job->Queue();  // the worker deletes itself after OnOK
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("flock", Napi::Function::New(env, Flock, "flock"));
  exports.Set("lockChecked", Napi::Function::New(env, LockChecked, "lockChecked"));
  exports.Set("identity", Napi::Function::New(env, Identity, "identity"));
  exports.Set("commitReplace", Napi::Function::New(env, CommitReplace, "commitReplace"));
  auto* st = new EnvState();
  st->env = env;
  napi_value name;
  napi_create_string_utf8(env, "tse_flock_wait", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, nullptr, name, &st->context);
  napi_add_env_cleanup_hook(env, CleanupEnv, st);
  exports.Set("waitLock", Napi::Function::New(env, WaitLock, "waitLock", st));
  exports.Set("LOCK_SH", Napi::Number::New(env, LOCK_SH));
  exports.Set("LOCK_EX", Napi::Number::New(env, LOCK_EX));
  exports.Set("LOCK_UN", Napi::Number::New(env, LOCK_UN));
  exports.Set("LOCK_NB", Napi::Number::New(env, LOCK_NB));
  return exports;
}

}  // namespace

NODE_API_MODULE(tse_flock, Init)
