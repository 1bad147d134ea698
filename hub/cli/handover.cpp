#include "hub/cli/handover.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace fs = std::filesystem;

namespace deit::hub {

Status write_file_durably(const fs::path& path, const std::string& data) {
  const fs::path tmp = path.string() + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return Error::make("io", "cannot write " + tmp.string());
  const bool ok = std::fwrite(data.data(), 1, data.size(), f) == data.size() && std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  std::fclose(f);
  if (!ok) return Error::make("io", "cannot write " + tmp.string());
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Error::make("io", "cannot rename " + tmp.string() + ": " + ec.message());
  return Status::success();
}

HandOver::HandOver(fs::path out, std::string exec) : out_(std::move(out)), exec_(std::move(exec)) {
  if (!out_.empty()) {
    fs::create_directories(out_);
    seen_dir_ = out_ / ".seen";
    fs::create_directories(seen_dir_);
  }
}

bool HandOver::take(const HandedDelivery& d, bool json_output) {
  // Duplicates are suppressed by message id: the hub delivers at least once.
  std::string key = d.transfer + "_" + d.message;
  for (char& c : key)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  const fs::path marker = seen_dir_ / key;
  if (!seen_dir_.empty() && fs::exists(marker)) {
    ++duplicates;
    if (!json_output) std::cerr << "duplicate suppressed: " << d.transfer << " " << d.message << "\n";
    return true;
  }
  if (!out_.empty()) {
    const std::string ext = d.content_type.find("json") != std::string::npos ? ".json" : ".xml";
    char name[32];
    std::snprintf(name, sizeof name, "%012llu-", static_cast<unsigned long long>(d.seq));
    if (!write_file_durably(out_ / (std::string(name) + key + ext), d.body)) return false;
  }
  if (!exec_.empty()) {
    const fs::path tmp = fs::temp_directory_path() / ("deitctl-" + std::to_string(::getpid()) + ".in");
    if (!write_file_durably(tmp, d.body)) return false;
    // Values from the wire go through the environment, never into the shell command line.
    ::setenv("DEIT_DELIVERY", std::to_string(d.seq).c_str(), 1);
    ::setenv("DEIT_TRANSFER", d.transfer.c_str(), 1);
    ::setenv("DEIT_KIND", d.kind.c_str(), 1);
    ::setenv("DEIT_MESSAGE", d.message.c_str(), 1);
    const std::string cmd = exec_ + " < '" + tmp.string() + "'";
    const int rc = std::system(cmd.c_str());
    fs::remove(tmp);
    if (rc != 0) {
      std::cerr << "deitctl: command failed for delivery " << d.seq << " (exit " << WEXITSTATUS(rc) << "); not acknowledged\n";
      return false;
    }
  }
  if (!seen_dir_.empty() && !write_file_durably(marker, "")) return false;
  ++delivered;
  if (json_output) {
    std::cout << d.json << "\n";
  } else {
    std::cout << "delivery " << d.seq << "  " << d.kind << "  transfer " << d.transfer << "  message " << d.message << "\n";
    if (out_.empty() && exec_.empty()) std::cout << d.body << "\n";
  }
  std::cout.flush();
  return true;
}

}  // namespace deit::hub
