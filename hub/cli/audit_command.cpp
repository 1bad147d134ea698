// deitctl audit ... --store PATH: the audit log read straight from the hub's SQLite file
// (read-only; safe while the hub runs).

#include <ostream>
#include <string>
#include <vector>

#include "hub/audit.hpp"
#include "hub/cli/commands.hpp"
#include "hub/store.hpp"

namespace deit::hub {

namespace {

const char* kAuditUsage =
    "usage: deitctl audit verify --store PATH [--head SEQ:HASH]... [--json]\n"
    "       deitctl audit list   --store PATH [--subject S] [--after SEQ] [--limit N]\n"
    "       deitctl audit export --store PATH [--subject S] [--after SEQ] [--limit N]   (JSON lines)\n"
    "       deitctl audit head   --store PATH\n"
    "  --subject: transfer:T-.., message:SENDER/ID, agency:ID, or a bare id (also finds entries listing it)\n"
    "  --head: a head from an event=audit-head log line; proves nothing after it was removed\n"
    "without --store (with --as an administrator): the same through the hub's API\n";

// Takes every "--name VALUE" out of args.
std::vector<std::string> take_all(std::vector<std::string>& args, const std::string& name) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i + 1 < args.size();) {
    if (args[i] == name) {
      out.push_back(args[i + 1]);
      args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
    } else {
      ++i;
    }
  }
  return out;
}

std::string take(std::vector<std::string>& args, const std::string& name, const std::string& fallback = {}) {
  auto all = take_all(args, name);
  return all.empty() ? fallback : all.back();
}

bool take_flag(std::vector<std::string>& args, const std::string& name) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == name) {
      args.erase(args.begin() + static_cast<long>(i));
      return true;
    }
  }
  return false;
}

bool to_int(const std::string& text, std::int64_t& out) {
  try {
    std::size_t used = 0;
    out = std::stoll(text, &used);
    return used == text.size() && out >= 0;
  } catch (...) {
    return false;
  }
}

}  // namespace

int run_audit(const std::vector<std::string>& arguments, std::ostream& out, std::ostream& err) {
  std::vector<std::string> args = arguments;
  if (args.empty()) {
    err << kAuditUsage;
    return 2;
  }
  const std::string what = args[0];
  args.erase(args.begin());
  const std::string store = take(args, "--store");
  const bool json = take_flag(args, "--json");
  if (store.empty()) {
    err << "deitctl audit: give the store file: --store PATH\n" << kAuditUsage;
    return 2;
  }

  if (what == "verify") {
    std::vector<AuditAnchor> anchors;
    for (const auto& text : take_all(args, "--head")) {
      auto anchor = parse_audit_anchor(text);
      if (!anchor) {
        err << "deitctl: " << anchor.error().describe() << "\n";
        return 2;
      }
      anchors.push_back(*anchor);
    }
    if (!args.empty()) {
      err << "deitctl audit verify: unexpected '" << args[0] << "'\n" << kAuditUsage;
      return 2;
    }
    auto report = verify_audit_file(store, anchors);
    if (!report) {
      err << "deitctl: " << report.error().describe() << "\n";
      return 2;
    }
    out << (json ? report->json() + "\n" : report->text());
    return report->ok() ? 0 : 1;
  }
  if (what == "head") {
    auto head = audit_head_of_file(store);
    if (!head) {
      err << "deitctl: " << head.error().describe() << "\n";
      return 2;
    }
    out << head->seq << ":" << head->hash << "\n";
    return 0;
  }
  if (what == "list" || what == "export") {
    const std::string subject = take(args, "--subject");
    std::int64_t after = 0, limit = 0;
    if (!to_int(take(args, "--after", "0"), after) || !to_int(take(args, "--limit", "0"), limit) || !args.empty()) {
      err << kAuditUsage;
      return 2;
    }
    auto entries = read_audit_file(store, subject, after, limit);
    if (!entries) {
      err << "deitctl: " << entries.error().describe() << "\n";
      return 2;
    }
    for (const auto& e : *entries) {
      if (what == "export" || json) {
        out << audit_record_json(e) << "\n";
      } else {
        out << e.seq << "  " << format_time_ms(e.at) << "  " << e.category << "  " << e.actor << "  " << e.action
            << "  " << e.subject;
        if (!e.reason.empty()) out << "  reason: " << e.reason;
        out << "\n    " << e.detail << "\n";
      }
    }
    if (what == "list" && !json) err << entries->size() << " entries\n";
    return 0;
  }
  err << "deitctl audit: unknown subcommand '" << what << "'\n" << kAuditUsage;
  return 2;
}

}  // namespace deit::hub
