#ifndef KEYSMITH_CFIDO2_SHIM_H
#define KEYSMITH_CFIDO2_SHIM_H
#include <dlfcn.h>
#include <elf.h>
#include <sys/auxv.h>
#include <stddef.h>
#include <stdint.h>
#include <fido.h>
#include <fido/credman.h>

/* The libfido2 functions FIDO2Provider calls. keysmith does not link libfido2 (a static
   keysmith could not: Debian ships no static libfido2, libcbor or libudev); SecurityKey
   loads libfido2.so.1 with dlopen and fills this table with dlsym. Each field has the type
   of the function fido.h declares, so the compiler checks every call against the header. */
struct keysmith_fido2 {
    __typeof__(fido_init) *_Nonnull fido_init;
    __typeof__(fido_strerr) *_Nonnull fido_strerr;
    __typeof__(fido_dev_info_new) *_Nonnull fido_dev_info_new;
    __typeof__(fido_dev_info_free) *_Nonnull fido_dev_info_free;
    __typeof__(fido_dev_info_manifest) *_Nonnull fido_dev_info_manifest;
    __typeof__(fido_dev_info_ptr) *_Nonnull fido_dev_info_ptr;
    __typeof__(fido_dev_info_path) *_Nonnull fido_dev_info_path;
    __typeof__(fido_dev_new) *_Nonnull fido_dev_new;
    __typeof__(fido_dev_open) *_Nonnull fido_dev_open;
    __typeof__(fido_dev_close) *_Nonnull fido_dev_close;
    __typeof__(fido_dev_free) *_Nonnull fido_dev_free;
    __typeof__(fido_dev_has_uv) *_Nonnull fido_dev_has_uv;
    __typeof__(fido_dev_supports_cred_prot) *_Nonnull fido_dev_supports_cred_prot;
    __typeof__(fido_dev_make_cred) *_Nonnull fido_dev_make_cred;
    __typeof__(fido_dev_get_assert) *_Nonnull fido_dev_get_assert;
    __typeof__(fido_cred_new) *_Nonnull fido_cred_new;
    __typeof__(fido_cred_free) *_Nonnull fido_cred_free;
    __typeof__(fido_cred_set_type) *_Nonnull fido_cred_set_type;
    __typeof__(fido_cred_set_clientdata_hash) *_Nonnull fido_cred_set_clientdata_hash;
    __typeof__(fido_cred_set_rk) *_Nonnull fido_cred_set_rk;
    __typeof__(fido_cred_set_user) *_Nonnull fido_cred_set_user;
    __typeof__(fido_cred_set_rp) *_Nonnull fido_cred_set_rp;
    __typeof__(fido_cred_set_prot) *_Nonnull fido_cred_set_prot;
    __typeof__(fido_cred_verify) *_Nonnull fido_cred_verify;
    __typeof__(fido_cred_verify_self) *_Nonnull fido_cred_verify_self;
    __typeof__(fido_cred_type) *_Nonnull fido_cred_type;
    __typeof__(fido_cred_prot) *_Nonnull fido_cred_prot;
    __typeof__(fido_cred_pubkey_ptr) *_Nonnull fido_cred_pubkey_ptr;
    __typeof__(fido_cred_pubkey_len) *_Nonnull fido_cred_pubkey_len;
    __typeof__(fido_cred_id_ptr) *_Nonnull fido_cred_id_ptr;
    __typeof__(fido_cred_id_len) *_Nonnull fido_cred_id_len;
    __typeof__(fido_cred_sig_ptr) *_Nonnull fido_cred_sig_ptr;
    __typeof__(fido_cred_sig_len) *_Nonnull fido_cred_sig_len;
    __typeof__(fido_cred_x5c_ptr) *_Nonnull fido_cred_x5c_ptr;
    __typeof__(fido_cred_x5c_len) *_Nonnull fido_cred_x5c_len;
    __typeof__(fido_cred_authdata_ptr) *_Nonnull fido_cred_authdata_ptr;
    __typeof__(fido_cred_authdata_len) *_Nonnull fido_cred_authdata_len;
    __typeof__(fido_cred_user_id_ptr) *_Nonnull fido_cred_user_id_ptr;
    __typeof__(fido_cred_user_id_len) *_Nonnull fido_cred_user_id_len;
    __typeof__(fido_assert_new) *_Nonnull fido_assert_new;
    __typeof__(fido_assert_free) *_Nonnull fido_assert_free;
    __typeof__(fido_assert_set_clientdata_hash) *_Nonnull fido_assert_set_clientdata_hash;
    __typeof__(fido_assert_set_rp) *_Nonnull fido_assert_set_rp;
    __typeof__(fido_assert_allow_cred) *_Nonnull fido_assert_allow_cred;
    __typeof__(fido_assert_set_up) *_Nonnull fido_assert_set_up;
    __typeof__(fido_assert_set_uv) *_Nonnull fido_assert_set_uv;
    __typeof__(fido_assert_count) *_Nonnull fido_assert_count;
    __typeof__(fido_assert_sig_ptr) *_Nonnull fido_assert_sig_ptr;
    __typeof__(fido_assert_sig_len) *_Nonnull fido_assert_sig_len;
    __typeof__(fido_assert_flags) *_Nonnull fido_assert_flags;
    __typeof__(fido_assert_sigcount) *_Nonnull fido_assert_sigcount;
    __typeof__(fido_credman_rp_new) *_Nonnull fido_credman_rp_new;
    __typeof__(fido_credman_rp_free) *_Nonnull fido_credman_rp_free;
    __typeof__(fido_credman_get_dev_rp) *_Nonnull fido_credman_get_dev_rp;
    __typeof__(fido_credman_rp_count) *_Nonnull fido_credman_rp_count;
    __typeof__(fido_credman_rp_id) *_Nonnull fido_credman_rp_id;
    __typeof__(fido_credman_rk_new) *_Nonnull fido_credman_rk_new;
    __typeof__(fido_credman_rk_free) *_Nonnull fido_credman_rk_free;
    __typeof__(fido_credman_get_dev_rk) *_Nonnull fido_credman_get_dev_rk;
    __typeof__(fido_credman_rk_count) *_Nonnull fido_credman_rk_count;
    __typeof__(fido_credman_rk) *_Nonnull fido_credman_rk;
};

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
