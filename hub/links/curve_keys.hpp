#pragma once
// CURVE key pairs for ZeroMQ links (RFC 26): 32-byte Curve25519 keys, written as 40
// characters of Z85 (RFC 32) in configuration and key files.
//
// A key file holds one secret key in Z85 on its own line ('#' lines are comments); the
// public key is derived from it, so a file can never pair the wrong halves. Beside it,
// `<name>.pub` holds the public key to hand to partners.

#include <string>
#include <string_view>
#include <vector>

#include "hub/model/result.hpp"

namespace deit::hub {
struct Config;
}

namespace deit::hub::links {

struct CurveKeyPair {
  std::string public_key;  // Z85, 40 characters
  std::string secret_key;  // Z85, 40 characters
};

// Checks that `z85` is 40 characters of the Z85 alphabet that decode to 32 bytes. The
// error names `field` and says what is wrong (length or the first bad character).
Status check_z85_key(std::string_view z85, const std::string& field);
// The 32 raw bytes of a valid Z85 key; empty when it is not one.
std::string decode_z85_key(std::string_view z85);
// Z85 text of 32 raw bytes (e.g. a client key from a ZAP request).
std::string encode_z85_key(std::string_view raw32);

Result<CurveKeyPair> generate_key_pair();
// The public key belonging to a Z85 secret key.
Result<std::string> public_key_of(std::string_view secret_z85);

// Writes `secret_path` (mode 0600) and the public key beside it (`.key` replaced by
// `.pub`, or `.pub` appended). Each file is written to a temporary name and renamed.
Status write_key_pair(const std::string& secret_path, const CurveKeyPair& pair);
// Reads a secret key file and derives its public key.
Result<CurveKeyPair> read_key_pair(const std::string& secret_path);
// Reads a public key file (or a secret key file, whose public key is derived).
Result<std::string> read_public_key(const std::string& path);
// `dir/<name>.curve.key`, the naming used for development keys.
std::string dev_key_path(const std::string& dir, const std::string& name);
// `x.key` -> `x.pub`; anything else gets `.pub` appended.
std::string public_key_path(const std::string& secret_path);

// Development keys (tls.generate_dev_certs): when links are in use, creates the hub's key
// pair at links.key (default <certs>/hub.curve.key) and, for every agency that lists no
// link_keys and is not itself a remote link, <certs>/<agency>.curve.key, admitting its
// public key. Existing files are reused, so keys survive restarts.
Status ensure_dev_link_keys(Config& config);

}  // namespace deit::hub::links
