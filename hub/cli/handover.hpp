#pragma once
// Handing deliveries over to the receiving application, shared by `deitctl watch`
// (WebSocket stream) and `deitctl connect` (ZeroMQ link): each delivery is written to a
// folder (temporary file, fsync, rename) and/or piped to a command, and only then may it
// be acknowledged. The hub delivers at least once, so repeats of a transfer's message id
// are recognised by a marker file and not handed over twice.

#include <cstdint>
#include <filesystem>
#include <string>

#include "hub/model/result.hpp"

namespace deit::hub {

// Writes `data` to `path` so that a crash leaves either nothing or the whole file.
Status write_file_durably(const std::filesystem::path& path, const std::string& data);

struct HandedDelivery {
  std::uint64_t seq = 0;
  std::string kind;
  std::string transfer;
  std::string message;
  std::string content_type;
  std::string body;
  std::string json;  // printed as is with --json
};

class HandOver {
 public:
  // `out`: folder for the files (and its .seen markers), may be empty; `exec`: a shell
  // command that gets the body on stdin and DEIT_DELIVERY, DEIT_TRANSFER, DEIT_KIND set.
  HandOver(std::filesystem::path out, std::string exec);
  // True when the delivery may be acknowledged: handed over now, or a repeat.
  bool take(const HandedDelivery& d, bool json_output);

  std::size_t delivered = 0;
  std::size_t duplicates = 0;

 private:
  std::filesystem::path out_;
  std::string exec_;
  std::filesystem::path seen_dir_;
};

}  // namespace deit::hub
