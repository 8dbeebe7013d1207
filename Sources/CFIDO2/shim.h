#ifndef KEYSMITH_CFIDO2_SHIM_H
#define KEYSMITH_CFIDO2_SHIM_H
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <fido.h>
#include <fido/credman.h>

/* OpenSSH's security-key middleware ABI (sk-api.h of OpenSSH 9.2, SSH_SK_VERSION_MAJOR
   0x000a0000): the structures a provider library answers with and the signatures of its
   four functions, declared here because no system header carries them. A library built
   for another major version may lay them out differently; SecurityKey checks the version
   before it calls anything else. */

#define KEYSMITH_SK_VERSION_MAJOR      0x000a0000u
#define KEYSMITH_SK_VERSION_MAJOR_MASK 0xffff0000u

struct sk_enroll_response {
    uint8_t flags;
    uint8_t *public_key;
    size_t public_key_len;
    uint8_t *key_handle;
    size_t key_handle_len;
    uint8_t *signature;
    size_t signature_len;
    uint8_t *attestation_cert;
    size_t attestation_cert_len;
    uint8_t *authdata;
    size_t authdata_len;
};

struct sk_sign_response {
    uint8_t flags;
    uint32_t counter;
    uint8_t *sig_r;
    size_t sig_r_len;
    uint8_t *sig_s;
    size_t sig_s_len;
};

struct sk_resident_key {
    uint32_t alg;
    size_t slot;
    char *application;
    struct sk_enroll_response key;
    uint8_t flags;
    uint8_t *user_id;
    size_t user_id_len;
};

struct sk_option {
    char *name;
    char *value;
    uint8_t required;
};

typedef uint32_t (*keysmith_sk_api_version_fn)(void);
typedef int (*keysmith_sk_enroll_fn)(uint32_t alg, const uint8_t *challenge, size_t challenge_len,
    const char *application, uint8_t flags, const char *pin, struct sk_option **options,
    struct sk_enroll_response **enroll_response);
typedef int (*keysmith_sk_sign_fn)(uint32_t alg, const uint8_t *data, size_t data_len,
    const char *application, const uint8_t *key_handle, size_t key_handle_len, uint8_t flags,
    const char *pin, struct sk_option **options, struct sk_sign_response **sign_response);
typedef int (*keysmith_sk_load_resident_keys_fn)(const char *pin, struct sk_option **options,
    struct sk_resident_key ***rks, size_t *nrks);

#endif
