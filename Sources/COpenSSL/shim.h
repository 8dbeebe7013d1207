#ifndef KEYSMITH_COPENSSL_SHIM_H
#define KEYSMITH_COPENSSL_SHIM_H
/* Blowfish's BF_* calls are deprecated in OpenSSL 3 but are the block
   function bcrypt_pbkdf needs; keep them visible without warnings. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/bio.h>
#include <openssl/blowfish.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#endif
