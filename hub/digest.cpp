#include "hub/digest.hpp"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

namespace deit::hub {

std::array<unsigned char, 32> sha256(std::initializer_list<std::string_view> parts) {
  static EVP_MD* const algorithm = EVP_MD_fetch(nullptr, "SHA256", nullptr);  // fetched once
  thread_local const std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::array<unsigned char, 32> md{};
  unsigned int size = 0;
  bool ok = algorithm && ctx && EVP_DigestInit_ex(ctx.get(), algorithm, nullptr) == 1;
  for (std::string_view part : parts) ok = ok && EVP_DigestUpdate(ctx.get(), part.data(), part.size()) == 1;
  ok = ok && EVP_DigestFinal_ex(ctx.get(), md.data(), &size) == 1 && size == md.size();
  if (!ok) throw std::runtime_error("SHA-256 is not available from OpenSSL");
  return md;
}

}  // namespace deit::hub
