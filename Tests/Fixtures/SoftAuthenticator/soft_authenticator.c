/*
 * A software "security key" for keysmith's tests: OpenSSH's security-key middleware API
 * (sk-api.h, SSH_SK_VERSION_MAJOR 0x000a0000 as in OpenSSH 9.2) over ordinary Ed25519 and
 * ECDSA P-256 keys made by OpenSSL's libcrypto.
 *
 * THIS IS A TEST FIXTURE, NOT AN AUTHENTICATOR. Its keys live in software, every key handle
 * is wrapped under one fixed key compiled into this file, and nothing here protects a
 * secret. It exists so that tests can run `ssh-keygen -w`, `ssh -o SecurityKeyProvider=`
 * and keysmith's own middleware code without hardware.
 *
 * Stateless: the key handle carries the private key (its DER, sealed with AES-256-GCM; the
 * additional data binds the algorithm and SHA-256 of the application), so sk_sign needs no
 * storage. Only resident keys are kept, as files, and only when asked for (below).
 *
 * It signs exactly what a FIDO authenticator signs for OpenSSH (PROTOCOL.u2f, sk-usbhid.c):
 *
 *     SHA256(application) || flags || uint32 counter (big-endian) || SHA256(data)
 *
 * where data is the message as the middleware receives it (sk-usbhid.c hashes it into the
 * client data hash). Ed25519 signs those 69 bytes; ECDSA signs their SHA-256 and answers r
 * and s as unsigned big-endian numbers without leading zeros (as BN_bn2bin gives them).
 *
 * Enrolment answers the requested flags, the public key (32 bytes for Ed25519, the 65-byte
 * uncompressed point for P-256), the key handle and a minimal self-attestation: no
 * certificate, authdata a CBOR byte string holding SHA256(application) || flags || counter 0
 * (no attested credential data), and the credential key's signature over that raw authdata
 * || SHA256(challenge).
 *
 * Environment variables steer it, so tests can provoke every answer (numbers accept 0x hex):
 *
 *   KEYSMITH_SOFTSK_API_VERSION   what sk_api_version returns (default 0x000a0000)
 *   KEYSMITH_SOFTSK_FLAGS         the flags byte sk_sign returns and signs; by default
 *                                 user presence (0x01) when the key's flags require it and
 *                                 user verification (0x04) when a PIN was given or required
 *   KEYSMITH_SOFTSK_COUNTER       the signature counter (default 1)
 *   KEYSMITH_SOFTSK_FAIL          comma-separated operations that fail: enroll, sign, load
 *   KEYSMITH_SOFTSK_ERROR         the code they fail with (default -1, SSH_SK_ERR_GENERAL)
 *   KEYSMITH_SOFTSK_PIN           the PIN every operation then requires; a missing or
 *                                 wrong PIN answers SSH_SK_ERR_PIN_REQUIRED (as sk-usbhid.c
 *                                 maps FIDO_ERR_PIN_REQUIRED and FIDO_ERR_PIN_INVALID)
 *   KEYSMITH_SOFTSK_RESIDENT_DIR  a directory for resident keys; without it, enrolling a
 *                                 resident key answers SSH_SK_ERR_UNSUPPORTED
 *   KEYSMITH_SOFTSK_LOG           a file each call appends one line to (operation,
 *                                 algorithm, application, flags, whether a PIN came,
 *                                 the data's length, the options), for tests to read
 *
 * A process that loads the library itself (keysmith's own tests) can give one thread its
 * own settings instead, so that tests running at once on other threads are not disturbed:
 * keysmith_softsk_configure("KEYSMITH_SOFTSK_PIN=1234\nKEYSMITH_SOFTSK_COUNTER=7") makes
 * the calling thread read these lines in place of the environment, and
 * keysmith_softsk_configure(NULL) gives it the environment back. An empty value counts as
 * unset.
 *
 * keysmith_softsk_frees() answers how many non-NULL pointers the calling thread freed with
 * this library's exported free (what dlsym(handle, "free") finds), so a test can check
 * that what the library allocates goes back through it.
 *
 * As sk-usbhid.c does: signing with user verification required and no PIN answers
 * SSH_SK_ERR_PIN_REQUIRED; loading resident keys needs a PIN; enrolling a resident key that
 * exists for the same application and user answers SSH_SK_ERR_CREDENTIAL_EXISTS unless
 * SSH_SK_FORCE_OPERATION is set; an unknown option marked required fails.
 *
 * Built by Tests/KeysmithTestSupport/SoftAuthenticator.swift:
 *     cc -shared -fPIC -o soft_authenticator.so soft_authenticator.c -lcrypto
 */

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

/* The ABI of sk-api.h (OpenSSH 9.2), declared here so the fixture needs no OpenSSH source. */
#define SSH_SK_USER_PRESENCE_REQD	0x01
#define SSH_SK_USER_VERIFICATION_REQD	0x04
#define SSH_SK_FORCE_OPERATION		0x10
#define SSH_SK_RESIDENT_KEY		0x20
#define SSH_SK_ECDSA			0x00
#define SSH_SK_ED25519			0x01
#define SSH_SK_ERR_GENERAL		-1
#define SSH_SK_ERR_UNSUPPORTED		-2
#define SSH_SK_ERR_PIN_REQUIRED		-3
#define SSH_SK_ERR_DEVICE_NOT_FOUND	-4
#define SSH_SK_ERR_CREDENTIAL_EXISTS	-5
#define SSH_SK_VERSION_MAJOR		0x000a0000

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

uint32_t sk_api_version(void);
int sk_enroll(uint32_t alg, const uint8_t *challenge, size_t challenge_len,
    const char *application, uint8_t flags, const char *pin,
    struct sk_option **options, struct sk_enroll_response **enroll_response);
int sk_sign(uint32_t alg, const uint8_t *data, size_t data_len,
    const char *application, const uint8_t *key_handle, size_t key_handle_len,
    uint8_t flags, const char *pin, struct sk_option **options,
    struct sk_sign_response **sign_response);
int sk_load_resident_keys(const char *pin, struct sk_option **options,
    struct sk_resident_key ***rks, size_t *nrks);

#define USER_ID_LEN	32
#define MAGIC		"KSA1"
#define MAGIC_LEN	4
#define NONCE_LEN	12
#define TAG_LEN		16
#define HANDLE_HEADER	(MAGIC_LEN + 1 + NONCE_LEN + TAG_LEN)

/* The fixed wrapping key: SHA-256 of this text. A fixture; see the header. */
static const char wrap_key_text[] = "keysmith soft authenticator test fixture wrapping key";

/* Settings of the calling thread (keysmith_softsk_configure), read instead of environ. */
#define MAX_SETTINGS	16
static __thread int thread_configured;
static __thread char thread_text[2048];
static __thread const char *thread_names[MAX_SETTINGS];
static __thread const char *thread_values[MAX_SETTINGS];
static __thread size_t thread_count;

void keysmith_softsk_configure(const char *settings);

void
keysmith_softsk_configure(const char *settings)
{
	char *line, *next, *eq;

	thread_configured = 0;
	thread_count = 0;
	if (settings == NULL || strlen(settings) >= sizeof(thread_text))
		return;
	strcpy(thread_text, settings);
	for (line = thread_text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((eq = strchr(line, '=')) == NULL || thread_count == MAX_SETTINGS)
			continue;
		*eq = '\0';
		thread_names[thread_count] = line;
		thread_values[thread_count++] = eq + 1;
	}
	thread_configured = 1;
}

/*
 * A caller must free what this library answers with the library's own free (in a static
 * program the library has its own libc and heap), found as keysmith does, with
 * dlsym(handle, "free"). That lookup finds this definition, which counts the calling
 * thread's non-NULL frees for keysmith_softsk_frees(); the library's own calls to free,
 * and everyone else's, still bind to libc's.
 */
extern void __libc_free(void *);
static __thread unsigned long thread_frees;

void free(void *p);
unsigned long keysmith_softsk_frees(void);

void
free(void *p)
{
	if (p != NULL)
		thread_frees++;
	__libc_free(p);
}

unsigned long
keysmith_softsk_frees(void)
{
	return thread_frees;
}

/* A setting: the thread's own when it has them, else the environment; empty is unset. */
static const char *
setting(const char *name)
{
	const char *v = NULL;
	size_t i;

	if (thread_configured) {
		for (i = 0; i < thread_count; i++)
			if (strcmp(thread_names[i], name) == 0)
				v = thread_values[i];
	} else
		v = getenv(name);
	return v != NULL && *v != '\0' ? v : NULL;
}

static unsigned long
env_number(const char *name, unsigned long fallback)
{
	const char *v = setting(name);
	char *end;
	unsigned long n;

	if (v == NULL || *v == '\0')
		return fallback;
	n = strtoul(v, &end, 0);
	return *end == '\0' ? n : fallback;
}

/* Whether KEYSMITH_SOFTSK_FAIL names `operation`, and the code to fail with. */
static int
forced_failure(const char *operation)
{
	const char *list = setting("KEYSMITH_SOFTSK_FAIL");
	size_t n = strlen(operation);
	const char *p;

	if (list == NULL)
		return 0;
	for (p = list; *p != '\0'; ) {
		size_t len = strcspn(p, ",");
		if (len == n && strncmp(p, operation, n) == 0) {
			const char *code = setting("KEYSMITH_SOFTSK_ERROR");
			return code != NULL ? (int)strtol(code, NULL, 0) : SSH_SK_ERR_GENERAL;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* 0 when the PIN is acceptable, SSH_SK_ERR_PIN_REQUIRED otherwise. */
static int
check_pin(const char *pin)
{
	const char *want = setting("KEYSMITH_SOFTSK_PIN");

	if (want == NULL)
		return 0;
	if (pin == NULL || strcmp(pin, want) != 0)
		return SSH_SK_ERR_PIN_REQUIRED;
	return 0;
}

static void
log_call(const char *op, int alg, const char *application, int flags,
    const char *pin, size_t data_len, struct sk_option **options)
{
	const char *path = setting("KEYSMITH_SOFTSK_LOG");
	FILE *f;
	size_t i;

	if (path == NULL || (f = fopen(path, "a")) == NULL)
		return;
	fprintf(f, "%s alg=%d application=%s flags=0x%02x pin=%s data=%zu options=",
	    op, alg, application != NULL ? application : "-", flags,
	    pin != NULL ? "yes" : "no", data_len);
	for (i = 0; options != NULL && options[i] != NULL; i++)
		fprintf(f, "%s%s=%s%s", i > 0 ? "," : "", options[i]->name,
		    options[i]->value, options[i]->required ? "!" : "");
	fprintf(f, "\n");
	fclose(f);
}

/* Reads the options; a user option fills `user_id` (zero-padded, as sk-usbhid.c does). */
static int
read_options(struct sk_option **options, uint8_t *user_id)
{
	size_t i;

	for (i = 0; options != NULL && options[i] != NULL; i++) {
		if (strcmp(options[i]->name, "device") == 0)
			continue;
		if (strcmp(options[i]->name, "user") == 0 && user_id != NULL) {
			size_t len = strlen(options[i]->value);
			if (len > USER_ID_LEN)
				return -1;
			memcpy(user_id, options[i]->value, len);
			continue;
		}
		if (options[i]->required)
			return -1;
	}
	return 0;
}

static int
sha256(const void *data, size_t len, uint8_t out[32])
{
	return SHA256(data, len, out) != NULL ? 0 : -1;
}

static int
wrap_key(uint8_t key[32])
{
	return sha256(wrap_key_text, sizeof(wrap_key_text) - 1, key);
}

/* The additional data sealed with a handle: magic, algorithm, SHA256(application). */
static int
handle_aad(uint32_t alg, const char *application, uint8_t aad[MAGIC_LEN + 1 + 32])
{
	memcpy(aad, MAGIC, MAGIC_LEN);
	aad[MAGIC_LEN] = (uint8_t)alg;
	return sha256(application, strlen(application), aad + MAGIC_LEN + 1);
}

/* AES-256-GCM, sealing (`seal` 1) or opening (0); returns 0 on success. */
static int
gcm(int seal, const uint8_t nonce[NONCE_LEN], const uint8_t *aad, size_t aad_len,
    const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[TAG_LEN])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t key[32];
	int n, ok = 0;

	if (ctx == NULL || wrap_key(key) != 0)
		goto out;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce, seal) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1 ||
	    (len > 0 && EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1))
		goto out;
	if (!seal && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, out + len, &n) != 1)
		goto out;
	if (seal && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) != 1)
		goto out;
	ok = 1;
 out:
	OPENSSL_cleanse(key, sizeof(key));
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* handle = magic || alg || nonce || tag || AES-256-GCM(DER of the private key) */
static int
make_handle(uint32_t alg, const char *application, EVP_PKEY *pkey,
    uint8_t **handle, size_t *handle_len)
{
	uint8_t aad[MAGIC_LEN + 1 + 32], *der = NULL, *h = NULL;
	int der_len;

	if ((der_len = i2d_PrivateKey(pkey, &der)) <= 0 ||
	    (h = malloc(HANDLE_HEADER + (size_t)der_len)) == NULL ||
	    handle_aad(alg, application, aad) != 0)
		goto fail;
	memcpy(h, MAGIC, MAGIC_LEN);
	h[MAGIC_LEN] = (uint8_t)alg;
	if (RAND_bytes(h + MAGIC_LEN + 1, NONCE_LEN) != 1 ||
	    gcm(1, h + MAGIC_LEN + 1, aad, sizeof(aad), der, (size_t)der_len,
	    h + HANDLE_HEADER, h + MAGIC_LEN + 1 + NONCE_LEN) != 0)
		goto fail;
	OPENSSL_clear_free(der, (size_t)der_len);
	*handle = h;
	*handle_len = HANDLE_HEADER + (size_t)der_len;
	return 0;
 fail:
	if (der != NULL)
		OPENSSL_clear_free(der, (size_t)der_len);
	free(h);
	return -1;
}

static EVP_PKEY *
open_handle(uint32_t alg, const char *application, const uint8_t *h, size_t len)
{
	uint8_t aad[MAGIC_LEN + 1 + 32], *der = NULL, tag[TAG_LEN];
	const uint8_t *p;
	size_t der_len;
	EVP_PKEY *pkey = NULL;

	if (len <= HANDLE_HEADER || memcmp(h, MAGIC, MAGIC_LEN) != 0 ||
	    h[MAGIC_LEN] != alg || handle_aad(alg, application, aad) != 0)
		return NULL;
	der_len = len - HANDLE_HEADER;
	memcpy(tag, h + MAGIC_LEN + 1 + NONCE_LEN, TAG_LEN);
	if ((der = malloc(der_len)) == NULL)
		return NULL;
	if (gcm(0, h + MAGIC_LEN + 1, aad, sizeof(aad), h + HANDLE_HEADER,
	    der_len, der, tag) == 0) {
		p = der;
		pkey = d2i_AutoPrivateKey(NULL, &p, (long)der_len);
	}
	OPENSSL_clear_free(der, der_len);
	return pkey;
}

static EVP_PKEY *
generate(uint32_t alg)
{
	EVP_PKEY *pkey = NULL;

	switch (alg) {
	case SSH_SK_ED25519:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	case SSH_SK_ECDSA:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		return pkey;
	default:
		return NULL;
	}
}

static int
public_key(uint32_t alg, EVP_PKEY *pkey, uint8_t **out, size_t *out_len)
{
	size_t len = 0;

	if (alg == SSH_SK_ED25519) {
		if (EVP_PKEY_get_raw_public_key(pkey, NULL, &len) != 1 ||
		    (*out = malloc(len)) == NULL ||
		    EVP_PKEY_get_raw_public_key(pkey, *out, &len) != 1)
			return -1;
	} else {
		if (EVP_PKEY_get_octet_string_param(pkey,
		    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0, &len) != 1 ||
		    (*out = malloc(len)) == NULL ||
		    EVP_PKEY_get_octet_string_param(pkey,
		    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, *out, len, &len) != 1)
			return -1;
	}
	*out_len = len;
	return 0;
}

/* Ed25519 over `msg`, or ECDSA with SHA-256 over it (DER). */
static int
sign_raw(uint32_t alg, EVP_PKEY *pkey, const uint8_t *msg, size_t msg_len,
    uint8_t **sig, size_t *sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = 0;

	*sig = NULL;
	if (ctx == NULL ||
	    EVP_DigestSignInit(ctx, NULL, alg == SSH_SK_ED25519 ? NULL : EVP_sha256(),
	    NULL, pkey) != 1 ||
	    EVP_DigestSign(ctx, NULL, sig_len, msg, msg_len) != 1 ||
	    (*sig = malloc(*sig_len)) == NULL ||
	    EVP_DigestSign(ctx, *sig, sig_len, msg, msg_len) != 1)
		goto out;
	ok = 1;
 out:
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		free(*sig);
		*sig = NULL;
	}
	return ok ? 0 : -1;
}

static void
free_enroll(struct sk_enroll_response *r)
{
	if (r == NULL)
		return;
	free(r->public_key);
	free(r->key_handle);
	free(r->signature);
	free(r->attestation_cert);
	free(r->authdata);
	free(r);
}

uint32_t
sk_api_version(void)
{
	return (uint32_t)env_number("KEYSMITH_SOFTSK_API_VERSION", SSH_SK_VERSION_MAJOR);
}

/* The file a resident key of `application` and `user_id` is kept in. */
static int
resident_path(const char *dir, const char *application, const uint8_t *user_id,
    char *path, size_t path_len)
{
	uint8_t buf[USER_ID_LEN + 1024], digest[32];
	size_t app_len = strlen(application), i;
	char hex[65];

	if (app_len > sizeof(buf) - USER_ID_LEN)
		return -1;
	memcpy(buf, user_id, USER_ID_LEN);
	memcpy(buf + USER_ID_LEN, application, app_len);
	if (sha256(buf, USER_ID_LEN + app_len, digest) != 0)
		return -1;
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	return snprintf(path, path_len, "%s/%s.rk", dir, hex) < (int)path_len ? 0 : -1;
}

static int
write_chunk(FILE *f, const void *p, size_t len)
{
	uint32_t n = (uint32_t)len;

	return fwrite(&n, sizeof(n), 1, f) == 1 &&
	    (len == 0 || fwrite(p, len, 1, f) == 1) ? 0 : -1;
}

static uint8_t *
read_chunk(FILE *f, size_t *len)
{
	uint32_t n;
	uint8_t *p;

	if (fread(&n, sizeof(n), 1, f) != 1 || n > 65536 ||
	    (p = malloc(n + 1)) == NULL)
		return NULL;
	if (n > 0 && fread(p, n, 1, f) != 1) {
		free(p);
		return NULL;
	}
	p[n] = '\0';
	*len = n;
	return p;
}

/* A resident key's file: alg, flags, application, user id, key handle, public key. */
static int
store_resident(const char *path, uint32_t alg, uint8_t flags, const char *application,
    const uint8_t *user_id, const struct sk_enroll_response *r)
{
	FILE *f = fopen(path, "wb");
	uint8_t head[2] = { (uint8_t)alg, flags };
	int ok;

	if (f == NULL)
		return -1;
	ok = fwrite(head, sizeof(head), 1, f) == 1 &&
	    write_chunk(f, application, strlen(application)) == 0 &&
	    write_chunk(f, user_id, USER_ID_LEN) == 0 &&
	    write_chunk(f, r->key_handle, r->key_handle_len) == 0 &&
	    write_chunk(f, r->public_key, r->public_key_len) == 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

int
sk_enroll(uint32_t alg, const uint8_t *challenge, size_t challenge_len,
    const char *application, uint8_t flags, const char *pin,
    struct sk_option **options, struct sk_enroll_response **enroll_response)
{
	struct sk_enroll_response *r = NULL;
	EVP_PKEY *pkey = NULL;
	uint8_t user_id[USER_ID_LEN], raw[32 + 1 + 4 + 32], *sig = NULL;
	const char *dir = setting("KEYSMITH_SOFTSK_RESIDENT_DIR");
	char path[4096];
	size_t sig_len;
	int ret = SSH_SK_ERR_GENERAL;

	log_call("enroll", (int)alg, application, flags, pin, challenge_len, options);
	if (enroll_response == NULL || application == NULL)
		return SSH_SK_ERR_GENERAL;
	*enroll_response = NULL;
	memset(user_id, 0, sizeof(user_id));
	if ((ret = forced_failure("enroll")) != 0 || (ret = check_pin(pin)) != 0)
		return ret;
	ret = SSH_SK_ERR_GENERAL;
	if (read_options(options, user_id) != 0)
		return SSH_SK_ERR_GENERAL;
	if (alg != SSH_SK_ED25519 && alg != SSH_SK_ECDSA)
		return SSH_SK_ERR_UNSUPPORTED;
	if (flags & SSH_SK_RESIDENT_KEY) {
		if (dir == NULL)
			return SSH_SK_ERR_UNSUPPORTED;
		if (resident_path(dir, application, user_id, path, sizeof(path)) != 0)
			return SSH_SK_ERR_GENERAL;
		if ((flags & SSH_SK_FORCE_OPERATION) == 0 && access(path, F_OK) == 0)
			return SSH_SK_ERR_CREDENTIAL_EXISTS;
	}
	if ((pkey = generate(alg)) == NULL ||
	    (r = calloc(1, sizeof(*r))) == NULL)
		goto out;
	r->flags = flags;
	if (public_key(alg, pkey, &r->public_key, &r->public_key_len) != 0 ||
	    make_handle(alg, application, pkey, &r->key_handle, &r->key_handle_len) != 0)
		goto out;
	/* self-attestation over SHA256(app) || flags || counter 0 || SHA256(challenge) */
	if (sha256(application, strlen(application), raw) != 0)
		goto out;
	raw[32] = 0x01 | ((pin != NULL) ? 0x04 : 0);
	memset(raw + 33, 0, 4);
	if (sha256(challenge, challenge_len, raw + 37) != 0 ||
	    sign_raw(alg, pkey, raw, sizeof(raw), &sig, &sig_len) != 0)
		goto out;
	r->signature = sig;
	r->signature_len = sig_len;
	sig = NULL;
	/* CBOR: a byte string (major type 2) of 37 bytes, one length byte after 0x58 */
	if ((r->authdata = malloc(2 + 37)) == NULL)
		goto out;
	r->authdata[0] = 0x58;
	r->authdata[1] = 37;
	memcpy(r->authdata + 2, raw, 37);
	r->authdata_len = 2 + 37;
	if ((flags & SSH_SK_RESIDENT_KEY) &&
	    store_resident(path, alg, flags, application, user_id, r) != 0)
		goto out;
	*enroll_response = r;
	r = NULL;
	ret = 0;
 out:
	free(sig);
	free_enroll(r);
	EVP_PKEY_free(pkey);
	return ret;
}

/* r and s of a DER ECDSA signature, without leading zeros. */
static int
split_ecdsa(const uint8_t *der, size_t der_len, struct sk_sign_response *r)
{
	const uint8_t *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	const BIGNUM *br, *bs;
	int ok = 0;

	if (sig == NULL)
		return -1;
	ECDSA_SIG_get0(sig, &br, &bs);
	r->sig_r_len = (size_t)BN_num_bytes(br);
	r->sig_s_len = (size_t)BN_num_bytes(bs);
	if ((r->sig_r = calloc(1, r->sig_r_len + 1)) == NULL ||
	    (r->sig_s = calloc(1, r->sig_s_len + 1)) == NULL)
		goto out;
	BN_bn2bin(br, r->sig_r);
	BN_bn2bin(bs, r->sig_s);
	ok = 1;
 out:
	ECDSA_SIG_free(sig);
	return ok ? 0 : -1;
}

int
sk_sign(uint32_t alg, const uint8_t *data, size_t data_len,
    const char *application, const uint8_t *key_handle, size_t key_handle_len,
    uint8_t flags, const char *pin, struct sk_option **options,
    struct sk_sign_response **sign_response)
{
	struct sk_sign_response *r = NULL;
	EVP_PKEY *pkey = NULL;
	uint8_t signed_data[32 + 1 + 4 + 32], *sig = NULL, answer_flags;
	uint32_t counter;
	size_t sig_len = 0;
	int ret;

	log_call("sign", (int)alg, application, flags, pin, data_len, options);
	if (sign_response == NULL || application == NULL || key_handle == NULL)
		return SSH_SK_ERR_GENERAL;
	*sign_response = NULL;
	if ((ret = forced_failure("sign")) != 0 || (ret = check_pin(pin)) != 0)
		return ret;
	if (pin == NULL && (flags & SSH_SK_USER_VERIFICATION_REQD))
		return SSH_SK_ERR_PIN_REQUIRED;
	if (read_options(options, NULL) != 0)
		return SSH_SK_ERR_GENERAL;
	ret = SSH_SK_ERR_GENERAL;
	if ((pkey = open_handle(alg, application, key_handle, key_handle_len)) == NULL)
		goto out;
	answer_flags = (uint8_t)env_number("KEYSMITH_SOFTSK_FLAGS",
	    ((flags & SSH_SK_USER_PRESENCE_REQD) ? 0x01 : 0) |
	    ((pin != NULL || (flags & SSH_SK_USER_VERIFICATION_REQD)) ? 0x04 : 0));
	counter = (uint32_t)env_number("KEYSMITH_SOFTSK_COUNTER", 1);
	if (sha256(application, strlen(application), signed_data) != 0)
		goto out;
	signed_data[32] = answer_flags;
	signed_data[33] = (uint8_t)(counter >> 24);
	signed_data[34] = (uint8_t)(counter >> 16);
	signed_data[35] = (uint8_t)(counter >> 8);
	signed_data[36] = (uint8_t)counter;
	if (sha256(data, data_len, signed_data + 37) != 0 ||
	    sign_raw(alg, pkey, signed_data, sizeof(signed_data), &sig, &sig_len) != 0 ||
	    (r = calloc(1, sizeof(*r))) == NULL)
		goto out;
	r->flags = answer_flags;
	r->counter = counter;
	if (alg == SSH_SK_ED25519) {
		r->sig_r = sig;
		r->sig_r_len = sig_len;
		sig = NULL;
	} else if (split_ecdsa(sig, sig_len, r) != 0)
		goto out;
	*sign_response = r;
	r = NULL;
	ret = 0;
 out:
	free(sig);
	if (r != NULL) {
		free(r->sig_r);
		free(r->sig_s);
		free(r);
	}
	EVP_PKEY_free(pkey);
	return ret;
}

static void
free_resident(struct sk_resident_key *rk)
{
	if (rk == NULL)
		return;
	free(rk->application);
	free(rk->key.public_key);
	free(rk->key.key_handle);
	free(rk->user_id);
	free(rk);
}

static struct sk_resident_key *
load_resident(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct sk_resident_key *rk = calloc(1, sizeof(*rk));
	uint8_t head[2];
	size_t len;
	int ok = 0;

	if (f == NULL || rk == NULL || fread(head, sizeof(head), 1, f) != 1)
		goto out;
	rk->alg = head[0];
	rk->flags = head[1];
	rk->key.flags = head[1];
	if ((rk->application = (char *)read_chunk(f, &len)) == NULL ||
	    (rk->user_id = read_chunk(f, &rk->user_id_len)) == NULL ||
	    (rk->key.key_handle = read_chunk(f, &rk->key.key_handle_len)) == NULL ||
	    (rk->key.public_key = read_chunk(f, &rk->key.public_key_len)) == NULL)
		goto out;
	ok = 1;
 out:
	if (f != NULL)
		fclose(f);
	if (!ok) {
		free_resident(rk);
		return NULL;
	}
	return rk;
}

int
sk_load_resident_keys(const char *pin, struct sk_option **options,
    struct sk_resident_key ***rksp, size_t *nrksp)
{
	const char *dir = setting("KEYSMITH_SOFTSK_RESIDENT_DIR");
	struct sk_resident_key **rks = NULL, **tmp, *rk;
	size_t nrks = 0, i;
	struct dirent *e;
	DIR *d = NULL;
	char path[4096];
	int ret;

	log_call("load", -1, NULL, 0, pin, 0, options);
	if (rksp == NULL || nrksp == NULL)
		return SSH_SK_ERR_GENERAL;
	*rksp = NULL;
	*nrksp = 0;
	if ((ret = forced_failure("load")) != 0 || (ret = check_pin(pin)) != 0)
		return ret;
	if (pin == NULL)
		return SSH_SK_ERR_PIN_REQUIRED;
	if (read_options(options, NULL) != 0)
		return SSH_SK_ERR_GENERAL;
	if (dir == NULL)
		return 0;
	if ((d = opendir(dir)) == NULL)
		return SSH_SK_ERR_GENERAL;
	ret = SSH_SK_ERR_GENERAL;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n < 4 || strcmp(e->d_name + n - 3, ".rk") != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path) ||
		    (rk = load_resident(path)) == NULL)
			goto out;
		if ((tmp = realloc(rks, (nrks + 1) * sizeof(*rks))) == NULL) {
			free_resident(rk);
			goto out;
		}
		rks = tmp;
		rk->slot = nrks;
		rks[nrks++] = rk;
	}
	*rksp = rks;
	*nrksp = nrks;
	rks = NULL;
	nrks = 0;
	ret = 0;
 out:
	for (i = 0; i < nrks; i++)
		free_resident(rks[i]);
	free(rks);
	closedir(d);
	return ret;
}
