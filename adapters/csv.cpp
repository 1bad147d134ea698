#include "adapters/csv.hpp"

namespace deit::adapters {

namespace {

Error csv_error(const std::string& file, int line, int column, std::string message) {
  Error e = Error::make("mapping-csv", std::move(message), file);
  e.line = line;
  e.column = column;
  return e;
}

}  // namespace

Result<CsvTable> CsvTable::parse(std::string_view text, std::string file_name) {
  CsvTable table;
  table.file_ = std::move(file_name);
  std::size_t i = 0;
  int line = 1;
  bool have_header = false;
  const std::size_t n = text.size();
  if (n >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") i = 3;  // UTF-8 byte order mark

  while (i < n) {
    std::size_t line_start = i;
    // Skip comment and blank lines whole.
    if (text[i] == '#' || text[i] == '\n' || (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n')) {
      while (i < n && text[i] != '\n') ++i;
      if (i < n) ++i;
      ++line;
      continue;
    }
    CsvRow row;
    row.line = line;
    const int row_line = line;
    bool end_of_record = false;
    while (!end_of_record) {
      std::string cell;
      const int column = static_cast<int>(i - line_start) + 1;
      if (i < n && text[i] == '"') {
        ++i;
        for (;;) {
          if (i >= n) return csv_error(table.file_, row_line, column, "quoted field is not closed");
          char c = text[i];
          if (c == '"') {
            if (i + 1 < n && text[i + 1] == '"') {
              cell += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (c == '\n') {
            ++line;
            line_start = i + 1;
          }
          cell += c;
          ++i;
        }
        if (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r')
          return csv_error(table.file_, line, static_cast<int>(i - line_start) + 1,
                           "unexpected character after a closing quote");
      } else {
        while (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          if (text[i] == '"')
            return csv_error(table.file_, line, static_cast<int>(i - line_start) + 1,
                             "a quote inside an unquoted field (quote the whole field)");
          cell += text[i++];
        }
      }
      row.cells.push_back(std::move(cell));
      row.columns.push_back(column);
      if (i < n && text[i] == ',') {
        ++i;
      } else {
        if (i < n && text[i] == '\r') ++i;
        if (i < n && text[i] == '\n') ++i;
        ++line;
        end_of_record = true;
      }
    }
    if (!have_header) {
      table.header_ = std::move(row.cells);
      table.header_line_ = row.line;
      have_header = true;
      continue;
    }
    if (row.cells.size() != table.header_.size()) {
      return csv_error(table.file_, row.line, row.columns.back(),
                       "row has " + std::to_string(row.cells.size()) + " fields; the header has " +
                           std::to_string(table.header_.size()));
    }
    table.rows_.push_back(std::move(row));
  }
  if (!have_header) return csv_error(table.file_, line, 1, "no header row");
  return table;
}

Result<std::size_t> CsvTable::column(std::string_view name) const {
  for (std::size_t c = 0; c < header_.size(); ++c)
    if (header_[c] == name) return c;
  return csv_error(file_, header_line_, 1, "the header has no '" + std::string(name) + "' column");
}

Error CsvTable::error_at(const CsvRow& row, std::size_t cell, std::string message) const {
  return csv_error(file_, row.line, cell < row.columns.size() ? row.columns[cell] : 1, std::move(message));
}

}  // namespace deit::adapters
