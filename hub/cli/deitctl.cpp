// deitctl: the operator and integration command line for DEIT Hub.
// Run `deitctl help` for the commands.

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "hub/cli/args.hpp"
#include "hub/cli/client.hpp"
#include "hub/cli/handover.hpp"
#include "hub/cli/link_commands.hpp"
#include "hub/cli/commands.hpp"
#include "hub/pki.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace deit;
using namespace deit::hub;

namespace {

const char* kHelp = R"(deitctl — operator and integration CLI for DEIT Hub

usage: deitctl [global options] COMMAND [arguments]

global options (or environment variables):
  --hub HOST:PORT      the hub (DEIT_HUB, default 127.0.0.1:8443)
  --as NAME            act as this agency or identity: uses CERTS/NAME.pem and NAME.key (DEIT_AS)
  --certs DIR          certificate directory with ca.pem (DEIT_CERTS, default var/certs)
  --cert F --key F --ca F   explicit certificate files instead of --as/--certs
  --json               machine-readable output

talking to the hub:
  send FILE                      submit an incident message (the agency's own format); a receiver
                                 may be responsible-police|fire|ambulance (from the location), and
                                 no receiver means the force covering the location (misrouted call)
  inbox [--wait S] [--after N]   deliveries waiting for my agency (long-poll with --wait)
  ack SEQ...                     acknowledge deliveries (transport acknowledgement)
  watch [--out DIR] [--exec CMD] [--count N] [--timeout S]
                                 stream deliveries as they arrive; each is written to DIR and/or
                                 handed to CMD on stdin, and acknowledged only after that
                                 succeeded; repeats of a message id are suppressed
  transfers [--awaiting | --on-behalf]
                                 transfers my agency sent or received (--awaiting: needing my
                                 decision; --on-behalf: run by partners for my agency)
  show TRANSFER                  a transfer and its history
  accept TRANSFER [--reason R] [--operator O] [--grade G --rationale WHY]
  reject TRANSFER --reason R [--operator O]
  regrade TRANSFER --grade G --rationale WHY     the sender is told the new grade and why
  reroute TRANSFER --to RECEIVER                 send a rejected or overdue transfer elsewhere

buddy arrangements (business continuity staff):
  buddy status [INVOCATION]      arrangements, active invocations and suggestions; or one
                                 invocation's reconciliation report
  buddy list                     every invocation, newest first
  buddy invoke --home H --trigger T --authorised-by NAME [--buddy primary|secondary|ID]
               [--mode dispatch-on-behalf|pass-back] [--calls overflow|all-calls]
               [--incidents all|emergency-only|listed-types] [--types A,B] [--cha-ref REF] [--note N]
               triggers: influx-of-calls technical-failure building-evacuation planned-maintenance exercise
  buddy stand-down INVOCATION --reason R   every incident goes back to the home agency
  dead-letters                   deliveries nobody acknowledged in time
  retry SEQ                      requeue a dead-lettered delivery (administrator)
  erase TRANSFER --reason R      erase a transfer's personal data, keep its skeleton (administrator)
  reload config|tls|mappings|gazetteer   read the configuration file (agencies,
                                 certificate rules, buddy arrangements, ...), the TLS files
                                 (certificate, key, CA, CRL), the code mapping tables or the
                                 gazetteer snapshot and its updates again, as SIGHUP does
                                 (administrator)
  audit verify [--head SEQ:HASH]...   check the audit log's hash chain (administrator)
  audit list [--subject S] [--after SEQ] [--limit N]   audit entries (administrator)
  health

audit log, straight from the store file (read-only; works while the hub runs):
  audit verify --store PATH [--head SEQ:HASH]...   exit 1 and name the first altered, removed
                                 or reordered entry; --head (from event=audit-head log lines)
                                 also proves nothing after that entry was removed
  audit list|export --store PATH [--subject S] [--after SEQ] [--limit N]   (export: JSON lines)
  audit head --store PATH        the newest entry as SEQ:HASH

offline:
  validate FILE [--format F]     check a file against its format's schema (default format: deit)
  translate --from F --to G FILE translate between formats, print the result and findings
  certs [--dir DIR] NAME...      make a development CA (if missing) and certificates; "hub" is the server
  certs --san SAN... NAME...     (re)issue with subject alternative names, e.g. --san DNS:cad.herts.police.uk
                                 --san email:cad@herts.police.uk --san URI:urn:uk:police:herts (repeatable)
  certs --crl NAME... [--dir DIR]  write DIR/crl.pem revoking the named certificates
  fingerprint FILE               SHA-256 fingerprint of a PEM certificate (for agency config)
  receive --listen HOST:PORT --out DIR [--certs DIR] [--count N]
                                 a push endpoint: accept deliveries from the hub over mutual TLS
)";

struct Globals {
  std::string hub = "127.0.0.1:8443";
  std::string as;
  std::string certs = "var/certs";
  std::string cert, key, ca;
  bool json_output = false;
};

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::make("io", "cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ClientOptions client_options(const Globals& g) {
  ClientOptions o = options_for(g.certs, g.as, g.hub);
  if (!g.cert.empty()) o.cert_file = g.cert;
  if (!g.key.empty()) o.key_file = g.key;
  if (!g.ca.empty()) o.ca_file = g.ca;
  return o;
}

int fail(const Error& e) {
  std::cerr << "deitctl: " << e.describe() << "\n";
  return 1;
}

// Prints a hub reply: JSON as given with --json, otherwise pretty; problems on stderr.
int print_reply(const HttpReply& r, const Globals& g) {
  if (r.status >= 400) {
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    if (!ec && v.is_object() && !g.json_output) {
      const auto& o = v.as_object();
      std::cerr << "refused (" << r.status << "): " << (o.contains("detail") ? json::value_to<std::string>(o.at("detail")) : "");
      if (o.contains("field")) std::cerr << "\n  field:  " << json::value_to<std::string>(o.at("field"));
      if (o.contains("rule")) std::cerr << "\n  rule:   " << json::value_to<std::string>(o.at("rule"));
      if (o.contains("line")) std::cerr << "\n  at:     line " << o.at("line") << ", column " << o.at("column");
      std::cerr << "\n";
    } else {
      std::cerr << r.body << "\n";
    }
    return 1;
  }
  std::cout << r.body << "\n";
  return 0;
}

Result<HttpReply> call(const Globals& g, const std::string& method, const std::string& target,
                       const std::string& body = {}, const std::string& content_type = {}) {
  auto client = Client::connect(client_options(g));
  if (!client) return client.error();
  return (*client)->request(method, target, body, content_type);
}

std::string content_type_for(const std::string& body) {
  for (char c : body) {
    if (c == '<') return "application/xml";
    if (c == '{' || c == '[') return "application/json";
    if (!std::isspace(static_cast<unsigned char>(c))) break;
  }
  return "application/xml";
}

// ---- watch ----

int watch(const Globals& g, std::vector<std::string> args) {
  const std::string out = option(args, "--out"), exec = option(args, "--exec");
  const long count = std::stol(option(args, "--count", "0"));
  const int timeout_s = std::stoi(option(args, "--timeout", "0"));
  HandOver w(out, exec);
  auto stream = StreamClient::connect(client_options(g));
  if (!stream) return fail(stream.error());
  for (long n = 0; count == 0 || n < count;) {
    auto frame = (*stream)->next(timeout_s * 1000);
    if (!frame) {
      if (frame.error().rule == "timeout") break;
      return fail(frame.error());
    }
    boost::system::error_code ec;
    json::value v = json::parse(*frame, ec);
    if (ec || !v.is_object()) continue;
    const json::object& d = v.as_object();
    const HandedDelivery handed{d.at("delivery").to_number<std::uint64_t>(), json::value_to<std::string>(d.at("kind")),
                                json::value_to<std::string>(d.at("transfer")), json::value_to<std::string>(d.at("message")),
                                json::value_to<std::string>(d.at("contentType")), json::value_to<std::string>(d.at("body")),
                                *frame};
    if (!w.take(handed, g.json_output)) return 1;
    if (auto s = (*stream)->ack({v.as_object().at("delivery").to_number<std::uint64_t>()}); !s) return fail(s.error());
    ++n;
  }
  (*stream)->close();
  std::cerr << "delivered " << w.delivered << ", duplicates suppressed " << w.duplicates << "\n";
  return 0;
}

// ---- receive (push endpoint) ----

int receive(const Globals& g, std::vector<std::string> args) {
  namespace net = boost::asio;
  namespace ssl = net::ssl;
  namespace beast = boost::beast;
  namespace http = beast::http;
  const std::string listen = option(args, "--listen", "127.0.0.1:9443");
  const fs::path out = option(args, "--out", "received");
  const std::string name = option(args, "--name", g.as.empty() ? "hub" : g.as);
  const long count = std::stol(option(args, "--count", "0"));
  const std::string fail_first = option(args, "--fail-first", "0");  // for retry tests
  long to_fail = std::stol(fail_first);
  fs::create_directories(out / ".seen");

  ssl::context ctx(ssl::context::tls_server);
  boost::system::error_code ec;
  const fs::path dir = g.certs;
  ctx.use_certificate_chain_file((dir / (name + ".pem")).string(), ec);
  if (!ec) ctx.use_private_key_file((dir / (name + ".key")).string(), ssl::context::pem, ec);
  if (!ec) ctx.load_verify_file(g.ca.empty() ? (dir / "ca.pem").string() : g.ca, ec);
  if (ec) return fail(Error::make("tls", "cannot load certificates from " + dir.string() + ": " + ec.message()));
  ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);

  net::io_context io;
  const auto colon = listen.rfind(':');
  net::ip::tcp::acceptor acceptor(io, {net::ip::make_address(listen.substr(0, colon)),
                                       static_cast<unsigned short>(std::stoi(listen.substr(colon + 1)))});
  std::cerr << "receiving on " << listen << " into " << out << "\n";
  long received = 0, duplicates = 0;
  while (count == 0 || received < count) {
    net::ip::tcp::socket socket(io);
    acceptor.accept(socket, ec);
    if (ec) continue;
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), ctx);
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
    stream.handshake(ssl::stream_base::server, ec);
    if (ec) {
      std::cerr << "TLS handshake refused: " << ec.message() << "\n";
      continue;
    }
    std::cerr << "connection from " << beast::get_lowest_layer(stream).socket().remote_endpoint(ec) << "\n";
    beast::flat_buffer buffer;
    while (count == 0 || received < count) {
      http::request<http::string_body> req;
      beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(60));
      http::read(stream, buffer, req, ec);
      if (ec) break;
      http::response<http::string_body> res{http::status::no_content, req.version()};
      res.keep_alive(req.keep_alive());
      if (to_fail > 0) {
        --to_fail;
        res.result(http::status::service_unavailable);
      } else {
        const std::string seq(req["X-DEIT-Delivery"]), transfer(req["X-DEIT-Transfer-Id"]),
            message(req["X-DEIT-Message-Id"]);
        std::string key = transfer + "_" + message;
        for (char& c : key)
          if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
        if (fs::exists(out / ".seen" / key)) {
          ++duplicates;
        } else if (!write_file_durably(out / (seq + "-" + key + ".msg"), req.body()) ||
                   !write_file_durably(out / ".seen" / key, "")) {
          res.result(http::status::internal_server_error);
        } else {
          ++received;
          std::cout << "received delivery " << seq << " transfer " << transfer << " message " << message << "\n";
          std::cout.flush();
        }
      }
      res.prepare_payload();
      http::write(stream, res, ec);
      if (ec || !req.keep_alive()) break;
    }
    // Sync Beast ignores timeouts, and a TLS shutdown would wait for the hub's reply on a
    // kept-alive connection: just close the socket.
    beast::get_lowest_layer(stream).socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(stream).socket().close(ec);
  }
  std::cerr << "received " << received << ", duplicates suppressed " << duplicates << "\n";
  return 0;
}

// ---- offline ----

int certs(std::vector<std::string> args) {
  const std::string dir = option(args, "--dir", env_or("DEIT_CERTS", "var/certs"));
  if (flag(args, "--crl")) {
    if (auto s = pki::write_crl(dir, args); !s) return fail(s.error());
    std::cout << "wrote " << (fs::path(dir) / "crl.pem").string() << " revoking " << args.size() << " certificate(s)\n";
    return 0;
  }
  const bool expired = flag(args, "--expired");
  std::vector<std::string> alt_names;
  for (std::string san = option(args, "--san"); !san.empty(); san = option(args, "--san")) alt_names.push_back(san);
  if (args.empty()) args = {"hub"};
  if (expired || !alt_names.empty()) {
    // Issued afresh (replacing any certificate of that name), with the CA created if missing.
    if (auto s = pki::ensure_dev_pki(dir, {}); !s) return fail(s.error());
    for (const auto& n : args)
      if (auto s = pki::issue_certificate(dir, n, n == "hub", expired ? -1 : 825, alt_names); !s) return fail(s.error());
  } else if (auto s = pki::ensure_dev_pki(dir, args); !s) {
    return fail(s.error());
  }
  for (const auto& n : args) {
    auto fp = pki::fingerprint_file((fs::path(dir) / (n + ".pem")).string());
    std::cout << n << "  " << (fs::path(dir) / (n + ".pem")).string() << "  sha256 " << (fp ? *fp : "?") << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  Globals g;
  g.hub = env_or("DEIT_HUB", g.hub);
  g.as = env_or("DEIT_AS", g.as);
  g.certs = env_or("DEIT_CERTS", g.certs);
  g.hub = option(args, "--hub", g.hub);
  g.as = option(args, "--as", g.as);
  g.certs = option(args, "--certs", g.certs);
  g.cert = option(args, "--cert");
  g.key = option(args, "--key");
  g.ca = option(args, "--ca");
  g.json_output = flag(args, "--json");
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::cout << kHelp << "\n" << kLinkHelp;
    return args.empty() ? 2 : 0;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());

  // Offline commands.
  if (cmd == "validate") {
    // Default format: the hub's canonical one.
    if (std::find(args.begin(), args.end(), "--format") == args.end()) args.insert(args.begin(), {"--format", "deit"});
    return run_validate(args, std::cout, std::cerr);
  }
  if (cmd == "translate") return run_translate(args, std::cout, std::cerr);
  if (cmd == "gazetteer") return run_gazetteer(args, std::cout, std::cerr);
  if (cmd == "certs") return certs(args);
  if (cmd == "fingerprint") {
    if (args.empty()) return (std::cerr << "usage: deitctl fingerprint FILE\n", 2);
    auto fp = pki::fingerprint_file(args[0]);
    if (!fp) return fail(fp.error());
    std::cout << *fp << "\n";
    return 0;
  }
  if (cmd == "receive") return receive(g, args);
  if (cmd == "audit" && std::find(args.begin(), args.end(), "--store") != args.end()) {
    if (g.json_output) args.push_back("--json");
    return run_audit(args, std::cout, std::cerr);
  }
  if (cmd == "keys") return run_keys(args, g.certs);
  if (cmd == "connect") return run_connect({g.as, g.certs, g.json_output}, args);
  if (cmd == "link") return run_link({g.as, g.certs, g.json_output}, args);

  if (g.as.empty() && g.cert.empty()) {
    if (cmd == "audit") std::cerr << "deitctl audit: give the store file (--store PATH), or an administrator (--as NAME)\n";
    std::cerr << "deitctl: say who you are: --as AGENCY (or DEIT_AS), or --cert/--key\n";
    return 2;
  }
  if (cmd == "watch") return watch(g, args);

  Result<HttpReply> reply = Error::make("usage", "unknown command '" + cmd + "'; see deitctl help");
  if (cmd == "send") {
    if (args.empty()) return (std::cerr << "usage: deitctl send FILE\n", 2);
    auto body = read_file(args[0]);
    if (!body) return fail(body.error());
    reply = call(g, "POST", "/v1/transfers", *body, content_type_for(*body));
  } else if (cmd == "inbox") {
    const std::string wait = option(args, "--wait", "0"), after = option(args, "--after", "0");
    reply = call(g, "GET", "/v1/inbox?wait=" + wait + "&after=" + after);
  } else if (cmd == "ack") {
    std::string body = "{\"ack\":[";
    for (std::size_t i = 0; i < args.size(); ++i) body += (i ? "," : "") + args[i];
    reply = call(g, "POST", "/v1/inbox/ack", body + "]}", "application/json");
  } else if (cmd == "transfers") {
    const bool on_behalf = flag(args, "--on-behalf");
    reply = call(g, "GET", std::string("/v1/transfers") +
                               (on_behalf ? "?on_behalf_of=me" : flag(args, "--awaiting") ? "?awaiting=decision" : ""));
  } else if (cmd == "regrade") {
    const std::string grade = option(args, "--grade"), rationale = option(args, "--rationale");
    if (args.empty() || grade.empty())
      return (std::cerr << "usage: deitctl regrade TRANSFER --grade G --rationale WHY\n", 2);
    reply = call(g, "POST", "/v1/transfers/" + args[0] + "/regrade",
                 json::serialize(json::object{{"grade", grade}, {"rationale", rationale}}), "application/json");
  } else if (cmd == "reroute") {
    const std::string to = option(args, "--to");
    if (args.empty() || to.empty()) return (std::cerr << "usage: deitctl reroute TRANSFER --to RECEIVER\n", 2);
    reply = call(g, "POST", "/v1/transfers/" + args[0] + "/reroute", json::serialize(json::object{{"receiver", to}}),
                 "application/json");
  } else if (cmd == "buddy") {
    const std::string sub = args.empty() ? "status" : args[0];
    if (!args.empty()) args.erase(args.begin());
    if (sub == "status") {
      reply = call(g, "GET", args.empty() ? "/v1/buddy" : "/v1/buddy/invocations/" + args[0]);
    } else if (sub == "list") {
      reply = call(g, "GET", "/v1/buddy/invocations");
    } else if (sub == "invoke") {
      json::object body;
      for (auto [opt, key] : {std::pair{"--home", "home"}, {"--buddy", "buddy"}, {"--trigger", "trigger"},
                              {"--authorised-by", "authorisedBy"}, {"--mode", "mode"}, {"--calls", "calls"},
                              {"--incidents", "incidents"}, {"--cha-ref", "chaReference"}, {"--note", "note"}}) {
        const std::string v = option(args, opt);
        if (!v.empty()) body[key] = v;
      }
      if (const std::string types = option(args, "--types"); !types.empty()) {
        json::array a;
        std::stringstream ss(types);
        for (std::string t; std::getline(ss, t, ',');)
          if (!t.empty()) a.push_back(json::string(t));
        body["types"] = std::move(a);
      }
      reply = call(g, "POST", "/v1/buddy/invocations", json::serialize(body), "application/json");
    } else if (sub == "stand-down") {
      const std::string reason = option(args, "--reason");
      if (args.empty()) return (std::cerr << "usage: deitctl buddy stand-down INVOCATION --reason R\n", 2);
      reply = call(g, "POST", "/v1/buddy/invocations/" + args[0] + "/stand-down",
                   json::serialize(json::object{{"reason", reason}}), "application/json");
    } else {
      return (std::cerr << "usage: deitctl buddy status|list|invoke|stand-down (see deitctl help)\n", 2);
    }
  } else if (cmd == "show") {
    if (args.empty()) return (std::cerr << "usage: deitctl show TRANSFER\n", 2);
    reply = call(g, "GET", "/v1/transfers/" + args[0]);
  } else if (cmd == "accept" || cmd == "reject") {
    const std::string reason = option(args, "--reason"), op = option(args, "--operator");
    const std::string grade = option(args, "--grade"), rationale = option(args, "--rationale");
    if (args.empty()) return (std::cerr << "usage: deitctl " << cmd << " TRANSFER [--reason R]\n", 2);
    json::object body{{"reason", reason}};
    if (!op.empty()) body["operator"] = op;
    if (!grade.empty()) body["grade"] = grade;
    if (!rationale.empty()) body["rationale"] = rationale;
    reply = call(g, "POST", "/v1/transfers/" + args[0] + "/" + cmd, json::serialize(body), "application/json");
  } else if (cmd == "dead-letters") {
    reply = call(g, "GET", "/v1/dead-letters");
  } else if (cmd == "retry") {
    if (args.empty()) return (std::cerr << "usage: deitctl retry SEQ\n", 2);
    reply = call(g, "POST", "/v1/dead-letters/" + args[0] + "/retry");
  } else if (cmd == "health") {
    reply = call(g, "GET", "/v1/health");
  } else if (cmd == "erase") {
    const std::string reason = option(args, "--reason");
    if (args.empty() || reason.empty()) return (std::cerr << "usage: deitctl erase TRANSFER --reason R\n", 2);
    reply = call(g, "POST", "/v1/admin/transfers/" + args[0] + "/erase", json::serialize(json::object{{"reason", reason}}),
                 "application/json");
  } else if (cmd == "reload") {
    const std::string what = args.empty() ? std::string() : args[0];
    if (what != "config" && what != "tls" && what != "mappings" && what != "gazetteer")
      return (std::cerr << "usage: deitctl reload config|tls|mappings|gazetteer\n", 2);
    reply = call(g, "POST", "/v1/admin/reload-" + what);
  } else if (cmd == "audit") {
    const std::string what = args.empty() ? std::string() : args[0];
    if (what == "verify") {
      std::string heads;
      for (std::string h; !(h = option(args, "--head")).empty();) heads += (heads.empty() ? "" : ",") + h;
      reply = call(g, "GET", "/v1/admin/audit/verify" + (heads.empty() ? std::string() : "?head=" + heads));
      if (reply && reply->status == 200 && !g.json_output) {
        // The same report as offline, and the same exit status.
        boost::system::error_code ec;
        json::value v = json::parse(reply->body, ec);
        if (!ec && v.is_object()) {
          const auto& o = v.as_object();
          std::cout << "audit log: " << o.at("entries") << " entries\nhead: " << json::value_to<std::string>(o.at("head"))
                    << "\n";
          if (o.at("ok").as_bool()) {
            std::cout << "chain intact\n";
            return 0;
          }
          const auto& first = o.at("firstProblem").as_object();
          std::cout << "BROKEN at entry " << first.at("seq") << " (" << json::value_to<std::string>(first.at("kind"))
                    << "): " << json::value_to<std::string>(first.at("message")) << "\nproblems: " << o.at("altered")
                    << " altered, " << o.at("removed") << " removed, " << o.at("reordered") << " reordered\n";
          return 1;
        }
      }
    } else if (what == "list" || what == "export") {
      const std::string subject = option(args, "--subject"), after = option(args, "--after", "0"),
                        limit = option(args, "--limit", "1000");
      std::string target = "/v1/admin/audit?after=" + after + "&limit=" + limit;
      if (!subject.empty()) target += "&subject=" + subject;
      reply = call(g, "GET", target);
    } else {
      return (std::cerr << "usage: deitctl audit verify|list|export [--store PATH] ...; see deitctl help\n", 2);
    }
  }
  if (!reply) return fail(reply.error());
  return print_reply(*reply, g);
}
