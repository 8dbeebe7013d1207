/*
 * ed25519-libraries: Ed25519 signing and verification in libsodium
 * (crypto_sign_detached / crypto_sign_verify_detached, what SSHCrypto uses) and in
 * OpenSSL 3 (EVP_DigestSign / EVP_DigestVerify with an EVP_PKEY made once and reused,
 * and made for every call), on the same key and a 200-byte message, on one thread.
 * Prints the CPU time per operation (CLOCK_PROCESS_CPUTIME_ID, so other processes on
 * the machine do not inflate it) and whether both libraries make identical signatures.
 *
 *   ed25519-libraries [ITERATIONS]          (default 20000; the best of 5 rounds is kept)
 */
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

enum operation { SODIUM_VERIFY, OPENSSL_VERIFY_CACHED, OPENSSL_VERIFY_FRESH, SODIUM_SIGN, OPENSSL_SIGN_CACHED };

static const char *const names[] = {
    "libsodium crypto_sign_verify_detached",
    "OpenSSL EVP_DigestVerify, EVP_PKEY reused",
    "OpenSSL EVP_DigestVerify, EVP_PKEY per call",
    "libsodium crypto_sign_detached",
    "OpenSSL EVP_DigestSign, EVP_PKEY reused",
};

static unsigned char pk[32], sk[64], sig[64], message[200];
static EVP_PKEY *public_key, *private_key;
static EVP_MD_CTX *context;

/* Runs `operation` `n` times; returns the number that succeeded. */
static int run(enum operation operation, int n) {
    int ok = 0;
    unsigned char out[64];
    size_t length;
    for (int i = 0; i < n; i++) {
        switch (operation) {
        case SODIUM_VERIFY:
            ok += crypto_sign_verify_detached(sig, message, sizeof message, pk) == 0;
            break;
        case OPENSSL_VERIFY_CACHED:
            EVP_MD_CTX_reset(context);
            ok += EVP_DigestVerifyInit(context, NULL, NULL, NULL, public_key) == 1 &&
                  EVP_DigestVerify(context, sig, sizeof sig, message, sizeof message) == 1;
            break;
        case OPENSSL_VERIFY_FRESH: {
            EVP_PKEY *key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk, sizeof pk);
            EVP_MD_CTX *fresh = EVP_MD_CTX_new();
            ok += key != NULL && fresh != NULL && EVP_DigestVerifyInit(fresh, NULL, NULL, NULL, key) == 1 &&
                  EVP_DigestVerify(fresh, sig, sizeof sig, message, sizeof message) == 1;
            EVP_MD_CTX_free(fresh);
            EVP_PKEY_free(key);
            break;
        }
        case SODIUM_SIGN:
            ok += crypto_sign_detached(out, NULL, message, sizeof message, sk) == 0 && memcmp(out, sig, 64) == 0;
            break;
        case OPENSSL_SIGN_CACHED:
            length = sizeof out;
            EVP_MD_CTX_reset(context);
            ok += EVP_DigestSignInit(context, NULL, NULL, NULL, private_key) == 1 &&
                  EVP_DigestSign(context, out, &length, message, sizeof message) == 1 && length == 64 &&
                  memcmp(out, sig, 64) == 0;
            break;
        }
    }
    return ok;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    if (n <= 0 || sodium_init() < 0) return 2;
    randombytes_buf(message, sizeof message);
    crypto_sign_keypair(pk, sk);
    crypto_sign_detached(sig, NULL, message, sizeof message, sk);
    public_key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk, sizeof pk);
    private_key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk, 32);
    context = EVP_MD_CTX_new();
    if (public_key == NULL || private_key == NULL || context == NULL) return 2;
    printf("| operation | CPU per call (best of 5 rounds of %d) | per CPU-second |\n|---|---|---|\n", n);
    int status = 0;
    for (int op = SODIUM_VERIFY; op <= OPENSSL_SIGN_CACHED; op++) {
        double best = 1e9;
        for (int round = 0; round < 5; round++) {
            double start = cpu_seconds();
            int ok = run((enum operation)op, n);
            double seconds = cpu_seconds() - start;
            if (ok != n) {
                fprintf(stderr, "%s: %d of %d failed (or signatures differ)\n", names[op], n - ok, n);
                status = 1;
            }
            if (seconds < best) best = seconds;
        }
        printf("| %s | %.1f us | %.0f |\n", names[op], best / n * 1e6, n / best);
    }
    printf("(signatures from both libraries are byte-identical: %s)\n", status == 0 ? "yes" : "NO");
    EVP_MD_CTX_free(context);
    EVP_PKEY_free(public_key);
    EVP_PKEY_free(private_key);
    return status;
}
