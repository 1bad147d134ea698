#pragma once
// SHA-256 for the hub's hot paths (transfer ids, the audit chain). OpenSSL 3's one-shot
// SHA256() looks the algorithm up in its provider tables, under a lock shared by every
// thread, on each call: 0.40 against 0.13 µs for a short input on one idle thread.

#include <array>
#include <initializer_list>
#include <string_view>

namespace deit::hub {

// The digest of the parts, concatenated. Throws std::runtime_error if OpenSSL has no SHA-256.
std::array<unsigned char, 32> sha256(std::initializer_list<std::string_view> parts);

}  // namespace deit::hub
