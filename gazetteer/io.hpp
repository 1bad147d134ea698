#pragma once
// Internal: read-only memory-mapped files and CSV field splitting.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "hub/model/result.hpp"

namespace deit::gazetteer::io {

class MappedFile {
 public:
  MappedFile() = default;
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Maps the whole file read-only. `sequential` hints the kernel to read ahead.
  // `populate` faults every page in at open (slower open, no page faults later).
  static Result<MappedFile> open(const std::string& path, bool sequential, bool populate = false);
  // Hints the kernel to read this range ahead in the background (returns at once).
  void will_need(std::size_t offset, std::size_t length) const;
  // Drops the pages of [0, offset) from this process (a streaming reader is done with them).
  void release_before(std::size_t offset) const;

  const char* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::string_view view() const { return {data_, size_}; }

 private:
  const char* data_ = nullptr;
  std::size_t size_ = 0;
};

// Iterates the lines of a buffer (LF or CRLF), 1-based numbers.
class LineReader {
 public:
  explicit LineReader(std::string_view data) : data_(data) {}
  bool next(std::string_view* line) {
    if (pos_ >= data_.size()) return false;
    std::size_t end = data_.find('\n', pos_);
    if (end == std::string_view::npos) end = data_.size();
    std::string_view l = data_.substr(pos_, end - pos_);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    pos_ = end + 1;
    ++line_number_;
    *line = l;
    return true;
  }
  std::size_t line_number() const { return line_number_; }
  std::size_t position() const { return pos_; }

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
  std::size_t line_number_ = 0;
};

// Splits one CSV line (RFC 4180 quoting, "" inside quotes). Views point into `line` or,
// for fields with escaped quotes, into `scratch` (kept alive by the caller). Returns false
// on an unterminated quote.
bool split_csv(std::string_view line, std::vector<std::string_view>& fields, std::string& scratch);

bool parse_u64(std::string_view s, std::uint64_t* out);  // empty -> 0, true
bool parse_u32(std::string_view s, std::uint32_t* out);
bool parse_u16(std::string_view s, std::uint16_t* out);
bool parse_int(std::string_view s, int* out);
bool parse_double(std::string_view s, double* out);  // empty -> 0, true
bool parse_suffix(std::string_view s, char* out);    // "" or one letter

// Writes `content` to `path` atomically (temporary file, fsync, rename).
Status write_file_atomically(const std::string& path, std::string_view content);

}  // namespace deit::gazetteer::io
