#ifndef KEYSMITH_CSODIUM_SHIM_H
#define KEYSMITH_CSODIUM_SHIM_H
#include <sodium.h>
#include <sys/prctl.h>
#include <sys/resource.h>

/* Keeps key material out of core files and away from same-uid ptrace and
   /proc/PID/mem: the core size limit becomes 0 (soft and hard) and the process
   is marked not dumpable. prctl is variadic, so Swift cannot call it directly.
   Returns 0, or -1 with errno set when either call fails. */
static inline int keysmith_disable_core_dumps(void) {
    struct rlimit none = {0, 0};
    int result = setrlimit(RLIMIT_CORE, &none);
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) result = -1;
    return result;
}
#endif
