#include "hub/links/curve_keys.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "hub/config.hpp"

namespace deit::hub::links {

namespace fs = std::filesystem;

namespace {

// The Z85 alphabet (RFC 32).
constexpr std::string_view kZ85 =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

Status write_text(const std::string& path, const std::string& text, bool secret) {
  const std::string tmp = path + ".tmp";
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return Error::make("keys", "cannot write " + tmp);
  if (secret) ::fchmod(fileno(f), 0600);
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0 &&
                  ::fsync(fileno(f)) == 0;
  std::fclose(f);
  if (!ok) return Error::make("keys", "cannot write " + tmp);
  fs::rename(tmp, path, ec);
  if (ec) return Error::make("keys", "cannot rename " + tmp + ": " + ec.message());
  return Status::success();
}

// The first line of `path` that is not blank or a '#' comment, trimmed.
Result<std::string> read_key_line(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error::make("keys", "cannot read key file " + path, path);
  std::string line;
  while (std::getline(in, line)) {
    const auto begin = line.find_first_not_of(" \t\r");
    if (begin == std::string::npos || line[begin] == '#') continue;
    const auto end = line.find_last_not_of(" \t\r");
    return line.substr(begin, end - begin + 1);
  }
  return Error::make("keys", "no key in " + path, path);
}

}  // namespace

Status check_z85_key(std::string_view z85, const std::string& field) {
  if (z85.size() != 40)
    return Error::make("config",
                       "a CURVE key is 40 characters of Z85, not " + std::to_string(z85.size()) + " characters", field);
  for (std::size_t i = 0; i < z85.size(); ++i) {
    if (kZ85.find(z85[i]) == std::string_view::npos)
      return Error::make("config", "character " + std::to_string(i + 1) + " is not in the Z85 alphabet", field);
  }
  if (decode_z85_key(z85).empty()) return Error::make("config", "is not a valid Z85 CURVE key", field);
  return Status::success();
}

std::string decode_z85_key(std::string_view z85) {
  if (z85.size() != 40) return {};
  const std::string text(z85);  // zmq_z85_decode needs a terminated string
  std::string raw(32, '\0');
  if (!zmq_z85_decode(reinterpret_cast<std::uint8_t*>(raw.data()), text.c_str())) return {};
  return raw;
}

std::string encode_z85_key(std::string_view raw32) {
  if (raw32.size() != 32) return {};
  char out[41] = {0};
  if (!zmq_z85_encode(out, reinterpret_cast<const std::uint8_t*>(raw32.data()), 32)) return {};
  return out;
}

Result<CurveKeyPair> generate_key_pair() {
  char pub[41] = {0}, sec[41] = {0};
  if (zmq_curve_keypair(pub, sec) != 0)
    return Error::make("keys", std::string("cannot generate a CURVE key pair: ") + zmq_strerror(zmq_errno()));
  return CurveKeyPair{pub, sec};
}

Result<std::string> public_key_of(std::string_view secret_z85) {
  if (auto s = check_z85_key(secret_z85, "secret key"); !s) return s.error();
  const std::string secret(secret_z85);
  char pub[41] = {0};
  if (zmq_curve_public(pub, secret.c_str()) != 0)
    return Error::make("keys", std::string("cannot derive the public key: ") + zmq_strerror(zmq_errno()));
  return std::string(pub);
}

std::string public_key_path(const std::string& secret_path) {
  fs::path p(secret_path);
  if (p.extension() == ".key") return p.replace_extension(".pub").string();
  return secret_path + ".pub";
}

std::string dev_key_path(const std::string& dir, const std::string& name) {
  return (fs::path(dir) / (name + ".curve.key")).string();
}

Status write_key_pair(const std::string& secret_path, const CurveKeyPair& pair) {
  if (auto s = write_text(secret_path,
                          "# ZeroMQ CURVE secret key (Z85). Keep private; the public key is in the .pub file.\n" +
                              pair.secret_key + "\n",
                          true);
      !s)
    return s;
  return write_text(public_key_path(secret_path), "# ZeroMQ CURVE public key (Z85)\n" + pair.public_key + "\n", false);
}

Result<CurveKeyPair> read_key_pair(const std::string& secret_path) {
  auto secret = read_key_line(secret_path);
  if (!secret) return secret.error();
  if (auto s = check_z85_key(*secret, secret_path); !s) return s.error();
  auto pub = public_key_of(*secret);
  if (!pub) return pub.error();
  return CurveKeyPair{*pub, *secret};
}

Result<std::string> read_public_key(const std::string& path) {
  // A secret key file has a .pub beside it; read the public half either way.
  if (fs::path(path).extension() == ".key") {
    auto pair = read_key_pair(path);
    if (!pair) return pair.error();
    return pair->public_key;
  }
  auto key = read_key_line(path);
  if (!key) return key.error();
  if (auto s = check_z85_key(*key, path); !s) return s.error();
  return key;
}

Status ensure_dev_link_keys(Config& config) {
  if (!config.links.enabled() || !config.tls.generate_dev_certs) return Status::success();
  const std::string dir = config.tls.dev_certs_dir;
  auto ensure = [](const std::string& path) -> Result<CurveKeyPair> {
    if (fs::exists(path)) return read_key_pair(path);
    auto pair = generate_key_pair();
    if (!pair) return pair.error();
    if (auto s = write_key_pair(path, *pair); !s) return s.error();
    return pair;
  };
  if (config.links.key_file.empty()) config.links.key_file = dev_key_path(dir, "hub");
  if (auto hub = ensure(config.links.key_file); !hub) return hub.error();
  std::size_t generated = 0;
  for (auto& agency : config.agencies) {
    if (!agency.link_keys.empty() || agency.delivery == DeliveryMode::link) continue;
    auto pair = ensure(dev_key_path(dir, agency.id));
    if (!pair) return pair.error();
    agency.link_keys.push_back(pair->public_key);
    ++generated;
  }
  spdlog::info("event=dev-link-keys dir={} hub_key={} agencies={}", dir, config.links.key_file, generated);
  return Status::success();
}

}  // namespace deit::hub::links
