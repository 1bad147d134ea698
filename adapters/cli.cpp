#include "adapters/cli.hpp"

#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>

#include "adapters/builtin.hpp"

namespace deit::adapters {

namespace {

constexpr const char* kUsage =
    "usage:\n"
    "  translate --from FORMAT --to FORMAT [--mappings DIR] FILE\n"
    "  validate --format FORMAT FILE\n"
    "  formats\n"
    "FILE may be - for standard input.\n";

struct Options {
  std::string command;
  std::string from, to, format, mappings, file;
};

std::optional<Options> parse(const std::vector<std::string>& args, std::ostream& err) {
  if (args.empty()) {
    err << kUsage;
    return std::nullopt;
  }
  Options o;
  o.command = args[0];
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string* target = a == "--from" ? &o.from : a == "--to" ? &o.to : a == "--format" ? &o.format
                        : a == "--mappings" ? &o.mappings : nullptr;
    if (target) {
      if (i + 1 >= args.size()) {
        err << a << " needs a value\n" << kUsage;
        return std::nullopt;
      }
      *target = args[++i];
    } else if (a.starts_with("--")) {
      err << "unknown option " << a << "\n" << kUsage;
      return std::nullopt;
    } else if (o.file.empty()) {
      o.file = a;
    } else {
      err << "more than one FILE given\n" << kUsage;
      return std::nullopt;
    }
  }
  return o;
}

std::optional<std::string> read_input(const std::string& file, std::ostream& err) {
  if (file == "-") return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    err << "cannot read " << file << "\n";
    return std::nullopt;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const Adapter* find(const Registry& registry, const std::string& name, std::ostream& err) {
  if (name.empty()) {
    err << "a format is required\n" << kUsage;
    return nullptr;
  }
  const Adapter* a = registry.find(name);
  if (!a) {
    err << "unknown format '" << name << "'; known:";
    for (auto n : registry.names()) err << ' ' << n;
    err << "\n";
  }
  return a;
}

void print_findings(const std::vector<Finding>& findings, std::string_view stage, std::ostream& err) {
  if (findings.empty()) return;
  err << "findings (" << stage << "):\n";
  for (const auto& f : findings) err << "  " << f.field << " [" << f.rule << "] " << f.message << "\n";
}

}  // namespace

int adapters_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto options = parse(args, err);
  if (!options) return 2;
  const Options& o = *options;

  auto store = MappingStore::with_embedded();
  if (!store) {
    err << "mapping tables: " << store.error().describe() << "\n";
    return 2;
  }
  if (!o.mappings.empty()) {
    if (auto status = store.value()->reload(o.mappings); !status) {
      err << "mapping tables: " << status.error().describe() << "\n";
      return 2;
    }
  }
  auto registry = builtin_registry(store.value());
  if (!registry) {
    err << "adapters: " << registry.error().describe() << "\n";
    return 2;
  }

  if (o.command == "formats") {
    for (auto n : registry.value()->names()) out << n << "\n";
    return 0;
  }
  if (o.command != "translate" && o.command != "validate") {
    err << "unknown command '" << o.command << "'\n" << kUsage;
    return 2;
  }
  if (o.file.empty()) {
    err << "FILE is required\n" << kUsage;
    return 2;
  }

  if (o.command == "validate") {
    const Adapter* a = find(*registry.value(), o.format, err);
    if (!a) return 2;
    auto input = read_input(o.file, err);
    if (!input) return 2;
    auto status = a->validate(*input);
    if (!status) {
      out << "INVALID " << status.error().describe() << "\n";
      return 1;
    }
    out << "OK\n";
    return 0;
  }

  const Adapter* from = find(*registry.value(), o.from, err);
  const Adapter* to = from ? find(*registry.value(), o.to, err) : nullptr;
  if (!from || !to) return 2;
  auto input = read_input(o.file, err);
  if (!input) return 2;
  auto decoded = from->decode(*input);
  if (!decoded) {
    err << "cannot decode as " << o.from << ": " << decoded.error().describe() << "\n";
    return 1;
  }
  auto encoded = to->encode(decoded->message);
  if (!encoded) {
    err << "cannot encode as " << o.to << ": " << encoded.error().describe() << "\n";
    return 1;
  }
  out << encoded->bytes;
  print_findings(decoded->findings, "decode " + o.from, err);
  print_findings(encoded->findings, "encode " + o.to, err);
  return 0;
}

}  // namespace deit::adapters
