#pragma once
// A small RFC 4180 CSV reader for the mapping tables: a header row, quoted fields with ""
// escapes, '#' comment lines and blank lines skipped. Every error names file, line, column.

#include <string>
#include <string_view>
#include <vector>

#include "hub/model/result.hpp"

namespace deit::adapters {

struct CsvRow {
  int line = 0;
  std::vector<std::string> cells;
  std::vector<int> columns;  // 1-based column where each cell starts
};

class CsvTable {
 public:
  static Result<CsvTable> parse(std::string_view text, std::string file_name);

  // Index of a header column; an error (naming the header line) when absent.
  Result<std::size_t> column(std::string_view name) const;
  const std::vector<CsvRow>& rows() const { return rows_; }
  const std::string& file_name() const { return file_; }
  // An error located at a cell, for a value the table's reader rejects.
  Error error_at(const CsvRow& row, std::size_t cell, std::string message) const;

 private:
  std::string file_;
  int header_line_ = 0;
  std::vector<std::string> header_;
  std::vector<CsvRow> rows_;
};

}  // namespace deit::adapters
