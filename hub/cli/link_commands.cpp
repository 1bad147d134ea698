#include "hub/cli/link_commands.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include "hub/cli/args.hpp"
#include "hub/cli/handover.hpp"
#include "hub/links/connector.hpp"
#include "hub/links/curve_keys.hpp"

namespace deit::hub {

namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

const char* kLinkHelp = R"(ZeroMQ CURVE links (docs/links.md):
  connect [--out DIR] [--exec CMD] [--count N] [--timeout S]
                                 hold a link to the hub and take my agency's deliveries: each is
                                 written to DIR and/or handed to CMD on stdin, and acknowledged
                                 only after that succeeded; repeats are suppressed by message id;
                                 reconnects with backoff; --timeout S stops after S s without one
  link send FILE                 submit an incident message over a link
  link accept|reject TRANSFER [--reason R] [--operator O]
      link options: --link tcp://HOST:PORT (DEIT_LINK, default tcp://127.0.0.1:8444),
                    --link-key FILE (default CERTS/AGENCY.curve.key),
                    --server-key KEY|FILE (default CERTS/hub.curve.pub), --window N
  keys [--dir DIR] NAME...       make CURVE key pairs DIR/NAME.curve.key (+ .pub) if missing
  keys --public FILE             print the public key of a key file
)";

namespace {

int fail(const Error& e) {
  std::cerr << "deitctl: " << e.describe() << "\n";
  return 1;
}

Result<links::ConnectorOptions> connector_options(const LinkCliContext& c, std::vector<std::string>& args,
                                                  links::LinkRole role) {
  const char* env_link = std::getenv("DEIT_LINK");
  links::ConnectorOptions o;
  o.endpoint = option(args, "--link", env_link && *env_link ? env_link : "tcp://127.0.0.1:8444");
  o.role = role;
  const std::string key_file = option(args, "--link-key", c.as.empty() ? "" : links::dev_key_path(c.certs, c.as));
  if (key_file.empty()) return Error::make("usage", "say who you are: --as AGENCY or --link-key FILE");
  auto pair = links::read_key_pair(key_file);
  if (!pair) return pair.error();
  o.key = *pair;
  const std::string server = option(args, "--server-key", (fs::path(c.certs) / "hub.curve.pub").string());
  // A file name wins: some paths are 40 characters of the Z85 alphabet too.
  if (fs::exists(server) || !links::check_z85_key(server, "--server-key")) {
    auto pub = links::read_public_key(server);
    if (!pub) return pub.error();
    o.server_key = *pub;
  } else {
    o.server_key = server;
  }
  o.window = static_cast<std::size_t>(std::stoul(option(args, "--window", "64")));
  return o;
}

}  // namespace

int run_connect(const LinkCliContext& c, std::vector<std::string> args) {
  const std::string out = option(args, "--out"), exec = option(args, "--exec");
  const long count = std::stol(option(args, "--count", "0"));
  const int timeout_s = std::stoi(option(args, "--timeout", "0"));
  auto options = connector_options(c, args, links::LinkRole::receive);
  if (!options) return fail(options.error());
  HandOver handover(out, exec);
  std::mt19937_64 rng(std::random_device{}());
  const auto idle_limit = std::chrono::seconds(timeout_s);
  auto last_activity = Clock::now();
  auto timed_out = [&] { return timeout_s > 0 && Clock::now() - last_activity >= idle_limit; };
  int attempt = 0;
  long taken = 0;
  auto back_off = [&] {
    // Exponential backoff with full jitter, 200 ms up to 30 s.
    const long ceiling = std::min<long>(30'000, 200L << std::min(attempt++, 8));
    std::uniform_int_distribution<long> pick(200, std::max<long>(200, ceiling));
    auto delay = std::chrono::milliseconds(pick(rng));
    if (timeout_s > 0) delay = std::min(delay, std::chrono::duration_cast<std::chrono::milliseconds>(idle_limit));
    std::this_thread::sleep_for(delay);
  };

  while ((count == 0 || taken < count) && !timed_out()) {
    links::ConnectorOptions o = *options;
    if (timeout_s > 0) o.handshake_timeout = std::min<std::chrono::milliseconds>(o.handshake_timeout, idle_limit);
    auto link = links::Connector::open(o);
    if (!link) {
      if (link.error().rule == "unauthorised") return fail(link.error());
      std::cerr << "deitctl: link: " << link.error().describe() << "; retrying\n";
      back_off();
      continue;
    }
    std::cerr << "connected to " << o.endpoint << " as " << (*link)->agency() << " (window " << (*link)->window() << ")\n";
    while (count == 0 || taken < count) {
      const auto wait = timeout_s > 0 ? std::chrono::duration_cast<std::chrono::milliseconds>(
                                            idle_limit - (Clock::now() - last_activity))
                                      : std::chrono::milliseconds(3'600'000);
      if (wait.count() <= 0) break;
      auto d = (*link)->next(wait);
      if (!d) {
        if (d.error().rule != "timeout") std::cerr << "deitctl: link: " << d.error().describe() << "; reconnecting\n";
        break;
      }
      json::object o{{"delivery", d->seq},     {"transfer", d->transfer},       {"message", d->message},
                     {"kind", d->kind},        {"contentType", d->content_type}, {"body", d->body}};
      const HandedDelivery handed{d->seq, d->kind, d->transfer, d->message, d->content_type, d->body, json::serialize(o)};
      if (!handover.take(handed, c.json_output)) {
        // Not acknowledged: the next session gets it again, after a growing pause.
        std::cerr << "deitctl: hand-over of delivery " << d->seq << " failed; it stays unacknowledged\n";
        break;
      }
      if (auto s = (*link)->ack({d->seq}); !s) {
        std::cerr << "deitctl: link: " << s.error().describe() << "; reconnecting\n";
        break;
      }
      attempt = 0;
      last_activity = Clock::now();  // only a delivery handed over counts as progress
      ++taken;
    }
    (*link)->close();
    if ((count == 0 || taken < count) && !timed_out()) back_off();
  }
  std::cerr << "delivered " << handover.delivered << ", duplicates suppressed " << handover.duplicates << "\n";
  return 0;
}

int run_link(const LinkCliContext& c, std::vector<std::string> args) {
  if (args.empty()) return (std::cerr << kLinkHelp, 2);
  const std::string what = args[0];
  args.erase(args.begin());
  const std::string reason = option(args, "--reason"), op = option(args, "--operator");
  auto options = connector_options(c, args, links::LinkRole::submit);
  if (!options) return fail(options.error());
  if (args.empty()) return (std::cerr << "usage: deitctl link " << what << (what == "send" ? " FILE\n" : " TRANSFER\n"), 2);
  auto link = links::Connector::open(*options);
  if (!link) return fail(link.error());
  Result<links::Reply> reply = Error::make("usage", "unknown link command '" + what + "'; see deitctl help");
  const auto timeout = std::chrono::seconds(30);
  if (what == "send") {
    std::ifstream in(args[0], std::ios::binary);
    if (!in) return fail(Error::make("io", "cannot read " + args[0]));
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string body = ss.str();
    const auto first = body.find_first_not_of(" \t\r\n");
    const std::string type = first != std::string::npos && (body[first] == '{' || body[first] == '[') ? "application/json"
                                                                                                      : "application/xml";
    reply = (*link)->submit(type, body, timeout);
  } else if (what == "accept" || what == "reject") {
    reply = (*link)->decide(args[0], what == "accept", reason, op, timeout);
  }
  (*link)->close();
  if (!reply) return fail(reply.error());
  if (reply->status == "refused") {
    Error problem;
    if (links::parse_problem_json(reply->json, problem) && !c.json_output) {
      std::cerr << "refused: " << problem.message;
      if (!problem.field.empty()) std::cerr << "\n  field:  " << problem.field;
      std::cerr << "\n  rule:   " << problem.rule;
      if (problem.line > 0) std::cerr << "\n  at:     line " << problem.line << ", column " << problem.column;
      std::cerr << "\n";
    } else {
      std::cerr << reply->json << "\n";
    }
    return 1;
  }
  std::cout << reply->json << "\n";
  return 0;
}

int run_keys(std::vector<std::string> args, const std::string& default_dir) {
  if (const std::string file = option(args, "--public"); !file.empty()) {
    auto pub = links::read_public_key(file);
    if (!pub) return fail(pub.error());
    std::cout << *pub << "\n";
    return 0;
  }
  const std::string dir = option(args, "--dir", default_dir);
  if (args.empty()) return (std::cerr << "usage: deitctl keys [--dir DIR] NAME...\n", 2);
  for (const auto& name : args) {
    const std::string path = links::dev_key_path(dir, name);
    Result<links::CurveKeyPair> pair = fs::exists(path) ? links::read_key_pair(path) : links::generate_key_pair();
    if (!pair) return fail(pair.error());
    if (!fs::exists(path)) {
      if (auto s = links::write_key_pair(path, *pair); !s) return fail(s.error());
    }
    std::cout << name << "  " << path << "  public " << pair->public_key << "\n";
  }
  return 0;
}

}  // namespace deit::hub
