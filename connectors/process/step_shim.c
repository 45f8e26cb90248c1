/* pikoci-shim: the step shim of containment.hpp as a binary of its own, installed next to
 * pikoci-node. Every step of a build is started through it: it dies with the node's thread that
 * spawned it, enters the build's cgroup, then becomes the step's command.
 *
 *   pikoci-step __pikoci_step PARENT_PID CGROUP_PROCS|- EXECUTABLE ARGV0 ARGS...
 *
 * Failures are written to fd 3 (close-on-exec, so a successful exec closes it) and the exit code
 * is 127; the texts are the ones the node binary's own shim writes.
 *
 * It is freestanding: no C library, a handful of raw system calls. A static glibc program spends
 * about half a millisecond of CPU at start on some virtual machines (its CPU feature probing runs
 * many `cpuid` instructions, each a trap to the hypervisor), which a step would pay on top of its
 * own command; this one starts in tens of microseconds. Built for x86-64 and AArch64; elsewhere
 * the node binary serves as the shim (containment.cpp).
 */
#include <asm/errno.h>
#include <asm/unistd.h>
#include <linux/fcntl.h>
#include <linux/prctl.h>

#if defined(__x86_64__)
__asm__(
    ".text\n"
    ".globl _start\n"
    ".type _start,@function\n"
    "_start:\n"
    "  xor %ebp, %ebp\n"
    "  mov %rsp, %rdi\n"
    "  and $-16, %rsp\n"
    "  call shim_start\n"
    "  ud2\n");

static long sys4(long n, long a, long b, long c, long d) {
  long r;
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall"
                   : "=a"(r)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
                   : "rcx", "r11", "memory");
  return r;
}
#elif defined(__aarch64__)
__asm__(
    ".text\n"
    ".globl _start\n"
    ".type _start,%function\n"
    "_start:\n"
    "  mov x29, #0\n"
    "  mov x30, #0\n"
    "  mov x0, sp\n"
    "  bl shim_start\n"
    "  brk #0\n");

static long sys4(long n, long a, long b, long c, long d) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
  return x0;
}
#else
#error "the freestanding step shim is built for x86-64 and AArch64 only"
#endif

/* The compiler may call these for copies and fills even in freestanding code. */
void* memcpy(void* dst, const void* src, unsigned long n) {
  char* d = dst;
  const char* s = src;
  while (n--) *d++ = *s++;
  return dst;
}
void* memset(void* dst, int c, unsigned long n) {
  char* d = dst;
  while (n--) *d++ = (char)c;
  return dst;
}

#define AT_FDCWD_ (-100)
#define SIGKILL_ 9
#define MAX_MESSAGE 4096

static unsigned long length(const char* s) {
  unsigned long n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

/* The message of glibc's strerror for the errors an exec or a cgroup write can give. */
static const char* error_text(long err, char* buf) {
  switch (err) {
    case EPERM: return "Operation not permitted";
    case ENOENT: return "No such file or directory";
    case ESRCH: return "No such process";
    case EIO: return "Input/output error";
    case E2BIG: return "Argument list too long";
    case ENOEXEC: return "Exec format error";
    case EBADF: return "Bad file descriptor";
    case ENOMEM: return "Cannot allocate memory";
    case EACCES: return "Permission denied";
    case EFAULT: return "Bad address";
    case EBUSY: return "Device or resource busy";
    case ENOTDIR: return "Not a directory";
    case EISDIR: return "Is a directory";
    case EINVAL: return "Invalid argument";
    case ENFILE: return "Too many open files in system";
    case EMFILE: return "Too many open files";
    case ETXTBSY: return "Text file busy";
    case ENOSPC: return "No space left on device";
    case EROFS: return "Read-only file system";
    case ENAMETOOLONG: return "File name too long";
    case ELOOP: return "Too many levels of symbolic links";
    case EOPNOTSUPP: return "Operation not supported";
    default: break;
  }
  /* "Unknown error N", as glibc says */
  char digits[24];
  int n = 0;
  unsigned long v = (unsigned long)(err < 0 ? -err : err);
  do digits[n++] = (char)('0' + v % 10);
  while ((v /= 10) != 0 && n < 20);
  const char* prefix = "Unknown error ";
  unsigned long at = 0;
  while (prefix[at] != '\0') { buf[at] = prefix[at]; ++at; }
  while (n > 0) buf[at++] = digits[--n];
  buf[at] = '\0';
  return buf;
}

static __attribute__((noreturn)) void leave(int code) {
  for (;;) sys4(__NR_exit_group, code, 0, 0, 0);
}

/* Writes the parts, joined, to fd 3 (cut at MAX_MESSAGE bytes) and exits with 127. */
static __attribute__((noreturn)) void fail(const char* a, const char* b, const char* c,
                                           const char* d) {
  char out[MAX_MESSAGE];
  unsigned long n = 0;
  const char* parts[4] = {a, b, c, d};
  for (int i = 0; i < 4; ++i)
    for (const char* p = parts[i]; p != 0 && *p != '\0' && n < sizeof out; ++p) out[n++] = *p;
  sys4(__NR_write, 3, (long)out, (long)n, 0);
  leave(127);
}

static long parse_pid(const char* s) {
  long v = 0;
  if (*s == '\0') return -1;
  for (; *s != '\0'; ++s) {
    if (*s < '0' || *s > '9' || v > 100000000L) return -1;
    v = v * 10 + (*s - '0');
  }
  return v;
}

__attribute__((noreturn, used)) void shim_start(long* sp) {
  long argc = sp[0];
  char** argv = (char**)(sp + 1);
  char** envp = argv + argc + 1;
  char buf[40];
  if (argc < 6) leave(127);
  sys4(__NR_fcntl, 3, F_SETFD, FD_CLOEXEC, 0);
  sys4(__NR_prctl, PR_SET_PDEATHSIG, SIGKILL_, 0, 0);
  /* after the line above: a parent gone before it was set is seen here */
  if (sys4(__NR_getppid, 0, 0, 0, 0) != parse_pid(argv[2])) fail("the node stopped", 0, 0, 0);
  const char* procs = argv[3];
  if (!(procs[0] == '-' && procs[1] == '\0')) {
    long fd = sys4(__NR_openat, AT_FDCWD_, (long)procs, O_WRONLY | O_CLOEXEC, 0);
    long err = fd < 0 ? -fd : 0;
    if (fd >= 0) {
      long w = sys4(__NR_write, fd, (long)"0", 1, 0);
      if (w < 0) err = -w;
      sys4(__NR_close, fd, 0, 0, 0);
    }
    if (err != 0) {
      const char* why = error_text(err, buf);
      char head[] = "cannot enter the build's cgroup ";
      char sep[] = ": ";
      /* three parts fit fail's four: join the path and the separator first */
      char path_sep[MAX_MESSAGE];
      unsigned long n = 0, pl = length(procs);
      for (unsigned long i = 0; i < pl && n + 3 < sizeof path_sep; ++i) path_sep[n++] = procs[i];
      path_sep[n++] = sep[0];
      path_sep[n++] = sep[1];
      path_sep[n] = '\0';
      fail(head, path_sep, why, 0);
    }
  }
  long rc = sys4(__NR_execve, (long)argv[4], (long)(argv + 5), (long)envp, 0);
  fail("fork/exec ", argv[4], ": ", error_text(-rc, buf));
}
