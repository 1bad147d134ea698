#pragma once
// URL pieces the hub needs: percent-decoding of query values and splitting an https URL.

#include <string>
#include <string_view>

namespace deit::hub {

std::string url_decode(std::string_view text);

struct HttpsUrl {
  std::string host;
  std::string port = "443";
  std::string target = "/";
};

// "https://host:port/path" → parts; anything unparseable leaves defaults in place.
HttpsUrl parse_https_url(std::string_view url);

}  // namespace deit::hub
