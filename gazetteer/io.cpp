#include "gazetteer/io.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

namespace deit::gazetteer::io {

MappedFile::~MappedFile() {
  if (data_ != nullptr && size_ > 0) munmap(const_cast<char*>(data_), size_);
}

MappedFile::MappedFile(MappedFile&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr && size_ > 0) munmap(const_cast<char*>(data_), size_);
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

void MappedFile::will_need(std::size_t offset, std::size_t length) const {
  if (data_ == nullptr || offset >= size_) return;
  const std::size_t page = 4096;
  std::size_t start = offset / page * page;
  madvise(const_cast<char*>(data_) + start, std::min(size_, offset + length) - start, MADV_WILLNEED);
}

void MappedFile::release_before(std::size_t offset) const {
  const std::size_t page = 4096;
  std::size_t end = std::min(offset, size_) / page * page;
  if (data_ != nullptr && end > 0) madvise(const_cast<char*>(data_), end, MADV_DONTNEED);
}

Result<MappedFile> MappedFile::open(const std::string& path, bool sequential, bool populate) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error::make("io", "cannot open " + path + ": " + std::strerror(errno), "path");
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return Error::make("io", "cannot stat " + path + ": " + std::strerror(e), "path");
  }
  MappedFile file;
  file.size_ = static_cast<std::size_t>(st.st_size);
  if (file.size_ > 0) {
    void* p = mmap(nullptr, file.size_, PROT_READ, MAP_SHARED | (populate ? MAP_POPULATE : 0), fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      file.size_ = 0;
      return Error::make("io", "cannot map " + path + ": " + std::strerror(e), "path");
    }
    madvise(p, file.size_, sequential ? MADV_SEQUENTIAL : MADV_RANDOM);
    file.data_ = static_cast<const char*>(p);
  }
  ::close(fd);
  return file;
}

bool split_csv(std::string_view line, std::vector<std::string_view>& fields, std::string& scratch) {
  fields.clear();
  scratch.clear();
  scratch.reserve(line.size());  // views into scratch must never be invalidated
  std::size_t i = 0;
  const std::size_t n = line.size();
  while (true) {
    if (i < n && line[i] == '"') {
      ++i;
      std::size_t start = i;
      bool escaped = false;
      while (true) {
        if (i >= n) return false;
        if (line[i] == '"') {
          if (i + 1 < n && line[i + 1] == '"') {
            escaped = true;
            i += 2;
            continue;
          }
          break;
        }
        ++i;
      }
      std::string_view raw = line.substr(start, i - start);
      ++i;  // closing quote
      if (escaped) {
        std::size_t at = scratch.size();
        for (std::size_t k = 0; k < raw.size(); ++k) {
          scratch.push_back(raw[k]);
          if (raw[k] == '"') ++k;
        }
        fields.emplace_back(scratch.data() + at, scratch.size() - at);
      } else {
        fields.push_back(raw);
      }
      if (i < n && line[i] != ',') return false;  // text after a closing quote
    } else {
      std::size_t end = line.find(',', i);
      if (end == std::string_view::npos) end = n;
      fields.push_back(line.substr(i, end - i));
      i = end;
    }
    if (i >= n) break;
    ++i;  // comma
  }
  return true;
}

namespace {
template <typename T>
bool parse_unsigned(std::string_view s, T* out) {
  if (s.empty()) {
    *out = 0;
    return true;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}
}  // namespace

bool parse_u64(std::string_view s, std::uint64_t* out) { return parse_unsigned(s, out); }
bool parse_u32(std::string_view s, std::uint32_t* out) { return parse_unsigned(s, out); }
bool parse_u16(std::string_view s, std::uint16_t* out) { return parse_unsigned(s, out); }

bool parse_int(std::string_view s, int* out) {
  if (s.empty()) {
    *out = 0;
    return true;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parse_double(std::string_view s, double* out) {
  if (s.empty()) {
    *out = 0;
    return true;
  }
  if (s.front() == '+') s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parse_suffix(std::string_view s, char* out) {
  if (s.empty()) {
    *out = 0;
    return true;
  }
  if (s.size() != 1 || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  *out = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return true;
}

Status write_file_atomically(const std::string& path, std::string_view content) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Error::make("io", "cannot create " + tmp + ": " + std::strerror(errno), "path");
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t w = ::write(fd, content.data() + done, content.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return Error::make("io", "cannot write " + tmp + ": " + std::strerror(e), "path");
    }
    done += static_cast<std::size_t>(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    return Error::make("io", "cannot flush " + tmp + ": " + std::strerror(errno), "path");
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return Error::make("io", "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno), "path");
  return Status::success();
}

}  // namespace deit::gazetteer::io
