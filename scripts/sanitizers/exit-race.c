/*
 * exit-race.so: widens one race for LeakSanitizer, so that a leak it causes now and then
 * appears every time (docs/sanitizers.md, "OpenSSL's per-thread state at exit").
 *
 * exit() runs OPENSSL_cleanup, which deletes OpenSSL's thread-local keys; a thread that ends
 * after that never runs OpenSSL's thread destructor, and its per-thread state (error queue,
 * random generators) is left unfreed. The window is normally a few microseconds. With this
 * preloaded:
 *   - a thread (other than the main one) that has stored OpenSSL thread-local state sleeps
 *     1 s when it ends, before OpenSSL's destructor would run;
 *   - exit sleeps 3 s after OPENSSL_cleanup and before LeakSanitizer's check
 *     (the atexit handler is registered at OpenSSL's first key, so it runs between them).
 * EXIT_RACE_NO_THREAD_STOP=1 makes OPENSSL_thread_stop a no-op on threads other than the main
 * one, to see what a thread that does not free its state leaks.
 *
 *   cc -shared -fPIC -o /tmp/exit-race.so scripts/sanitizers/exit-race.c -ldl
 *   LD_PRELOAD=/tmp/exit-race.so ASAN_OPTIONS=fast_unwind_on_malloc=0 \
 *     .build-asan/debug/keysmith serve ...   # connect, then SIGTERM it at once
 *
 * A test tool only; nothing builds or ships it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_key_t hold_key;

static int is_main_thread(void) { return syscall(SYS_gettid) == getpid(); }

static void hold_thread_end(void *unused) {
    (void)unused;
    usleep(1000000);
}

static void hold_exit(void) { usleep(3000000); }

__attribute__((constructor)) static void init(void) { pthread_key_create(&hold_key, hold_thread_end); }

int CRYPTO_THREAD_init_local(unsigned int *key, void (*cleanup)(void *)) {
    static int (*real)(unsigned int *, void (*)(void *));
    static int registered;
    if (!real) real = (int (*)(unsigned int *, void (*)(void *)))dlsym(RTLD_NEXT, "CRYPTO_THREAD_init_local");
    /* Registered before OpenSSL's own atexit(OPENSSL_cleanup), after the sanitizer's. */
    if (!registered) {
        registered = 1;
        atexit(hold_exit);
    }
    return real(key, cleanup);
}

int CRYPTO_THREAD_set_local(unsigned int *key, void *value) {
    static int (*real)(unsigned int *, void *);
    if (!real) real = (int (*)(unsigned int *, void *))dlsym(RTLD_NEXT, "CRYPTO_THREAD_set_local");
    if (!is_main_thread()) pthread_setspecific(hold_key, (void *)1);
    return real(key, value);
}

void OPENSSL_thread_stop(void) {
    static void (*real)(void);
    if (!real) real = (void (*)(void))dlsym(RTLD_NEXT, "OPENSSL_thread_stop");
    if (getenv("EXIT_RACE_NO_THREAD_STOP") && !is_main_thread()) return;
    real();
}
