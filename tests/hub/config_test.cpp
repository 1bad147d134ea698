// Configuration parsing: the defaults load, and every kind of mistake is reported with
// the JSON path of the offending field and the rule it broke.
#include "hub/config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace deit::hub {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kTls = R"("tls": {"ca": "certs/ca.pem", "cert": "certs/hub.pem", "key": "certs/hub.key"},)";
constexpr std::string_view kTwoAgencies =
    R"({"id": "hertfordshire-police", "kind": "police"}, {"id": "hertfordshire-fire", "kind": "fire"})";

// A complete document: `top` is spliced in among the top-level keys (trailing commas are
// allowed), `agencies` is the array content.
std::string doc(std::string_view top = "", std::string_view agencies = kTwoAgencies) {
  std::string s = "{\n";
  s += kTls;
  s += "\n";
  s += top;
  s += "\n\"agencies\": [";
  s += agencies;
  s += "]\n}";
  return s;
}

Error parse_error(const std::string& text) {
  auto c = parse_config(text, "/srv/deit");
  if (c.ok()) {
    ADD_FAILURE() << "expected an error for:\n" << text;
    return Error{};
  }
  return c.error();
}

void expect_error(const std::string& text, const std::string& field, const std::string& message_part,
                  const std::string& rule = "config") {
  SCOPED_TRACE(text);
  const Error e = parse_error(text);
  EXPECT_EQ(e.rule, rule);
  EXPECT_EQ(e.field, field) << e.message;
  EXPECT_NE(e.message.find(message_part), std::string::npos) << "message: " << e.message;
}

// ---- the defaults ---------------------------------------------------------------------

TEST(ConfigDefaults, ParseWithFiveAgencies) {
  auto c = default_config("/srv/deit");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  ASSERT_EQ(c->agencies.size(), 5u);
  EXPECT_EQ(c->agencies[0].id, "hertfordshire-police");
  EXPECT_EQ(c->agencies[3].kind, model::AgencyKind::fire);
  EXPECT_EQ(c->agencies[4].kind, model::AgencyKind::ambulance);
  for (const auto& a : c->agencies) {
    // Fire control takes its own mobilising format, so the demo shows a translation.
    EXPECT_EQ(a.format, a.id == "hertfordshire-fire" ? "fire" : "deit") << a.id;
    EXPECT_EQ(a.delivery, DeliveryMode::pull) << a.id;
    // The operators' certificate has CN = the agency id; police forces also have a
    // business continuity desk certificate (buddy invocations).
    ASSERT_GE(a.certificates.size(), 1u) << a.id;
    EXPECT_EQ(a.certificates[0].subject_cn, a.id);
    EXPECT_EQ(a.certificates[0].roles, std::vector<Role>{Role::operator_role});
    if (a.kind == model::AgencyKind::police) {
      ASSERT_EQ(a.certificates.size(), 2u) << a.id;
      EXPECT_EQ(a.certificates[1].subject_cn, a.id + "-bc");
      EXPECT_EQ(a.certificates[1].roles, (std::vector<Role>{Role::operator_role, Role::business_continuity}));
    }
  }
  ASSERT_EQ(c->buddy.size(), 3u);
  EXPECT_EQ(c->buddy[0].home, "hertfordshire-police");
  EXPECT_EQ(c->buddy[0].primary, "bedfordshire-police");
  EXPECT_EQ(c->acceptance.deadline("emergency", true)->count(), 60);
  EXPECT_EQ(c->acceptance.deadline("priority", false)->count(), 300);
  EXPECT_EQ(c->listen_address, "127.0.0.1");
  EXPECT_EQ(c->listen_port, 8443);
  EXPECT_EQ(c->delivery.retry_initial.count(), 500);
  EXPECT_EQ(c->delivery.retry_max.count(), 60000);
  EXPECT_EQ(c->delivery.dead_letter_after.count(), 600);
  EXPECT_TRUE(c->tls.generate_dev_certs);
  ASSERT_EQ(c->administrators.size(), 1u);
  EXPECT_EQ(c->administrators[0].subject_cn, "hub-admin");
  EXPECT_EQ(c->administrators[0].roles, (std::vector<Role>{Role::administrator, Role::business_continuity}));
  EXPECT_NE(c->find_agency("hertfordshire-fire"), nullptr);
  EXPECT_EQ(c->find_agency("nobody"), nullptr);
}

TEST(ConfigDefaults, TextIsTheEmbeddedFile) {
  EXPECT_NE(default_config_text().find("\"agencies\""), std::string_view::npos);
  auto c = parse_config(default_config_text(), "/x");
  EXPECT_TRUE(c.ok());
}

TEST(ConfigDefaults, MinimalDocumentGetsDefaults) {
  auto c = parse_config(doc(), "/srv/deit");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  EXPECT_EQ(c->agencies.size(), 2u);
  EXPECT_EQ(c->agencies[0].name, "hertfordshire-police");  // name defaults to id
  EXPECT_EQ(c->io_threads, 2);
  EXPECT_EQ(c->retention_days, 0) << "nothing is erased unless the force sets a period";
  EXPECT_EQ(c->commit_interval_ms, 4);
  EXPECT_EQ(c->log_level, "info");
  EXPECT_TRUE(c->administrators.empty());
}

TEST(ConfigDefaults, RoleNames) {
  EXPECT_EQ(to_string(Role::operator_role), "operator");
  EXPECT_EQ(to_string(Role::business_continuity), "business-continuity");
  EXPECT_EQ(to_string(Role::administrator), "administrator");
}

// ---- unknown keys (typos) anywhere ----------------------------------------------------

TEST(ConfigUnknownKey, TopLevel) { expect_error(doc(R"("log_levle": "debug",)"), "log_levle", "unknown setting"); }

TEST(ConfigUnknownKey, InTls) {
  std::string text = doc();
  text.replace(text.find("\"key\""), 0, R"("crl_file": "x.pem", )");
  expect_error(text, "tls.crl_file", "unknown setting");
}

TEST(ConfigUnknownKey, InDelivery) {
  expect_error(doc(R"("delivery": {"retry_intial_ms": 100},)"), "delivery.retry_intial_ms", "unknown setting");
}

TEST(ConfigUnknownKey, InLimits) {
  expect_error(doc(R"("limits": {"max_body_byte": 4096},)"), "limits.max_body_byte", "unknown setting");
}

TEST(ConfigUnknownKey, InAgency) {
  expect_error(doc("", R"({"id": "a", "kind": "police"}, {"id": "b", "kind": "fire", "fromat": "deit"})"),
               "agencies[1].fromat", "unknown setting");
}

TEST(ConfigUnknownKey, InAgencyDelivery) {
  expect_error(doc("", R"({"id": "a", "kind": "police", "delivery": {"mode": "pull", "endpont": "x"}})"),
               "agencies[0].delivery.endpont", "unknown setting");
}

TEST(ConfigUnknownKey, InCertificate) {
  expect_error(doc("", R"({"id": "a", "kind": "police", "certificates": [{"subject_cn": "a"}, {"subject_cn": "b", "sha265": "ab"}]})"),
               "agencies[0].certificates[1].sha265", "unknown setting");
}

// Regression (hub/config.cpp, parse_certificate): the "needs subject_cn or sha256" check once
// ran before Reader::finish(), so a certificate whose only key was misspelt was reported as
// missing a key at "agencies[0].certificates[0]" instead of naming the typo.
TEST(ConfigUnknownKey, TypoInTheOnlyCertificateKeyIsNamed) {
  expect_error(doc("", R"({"id": "a", "kind": "police", "certificates": [{"sha265": "ab"}]})"),
               "agencies[0].certificates[0].sha265", "unknown setting");
}

TEST(ConfigUnknownKey, InAdministrator) {
  expect_error(doc(R"("administrators": [{"subject_cn": "admin", "role": ["administrator"]}],)"),
               "administrators[0].role", "unknown setting");
}

// ---- wrong types ----------------------------------------------------------------------

TEST(ConfigWrongType, StringExpected) { expect_error(doc(R"("listen": 8443,)"), "listen", "must be a string"); }

TEST(ConfigWrongType, WholeNumberExpected) {
  expect_error(doc(R"("io_threads": "2",)"), "io_threads", "must be a whole number");
  expect_error(doc(R"("io_threads": 2.5,)"), "io_threads", "must be a whole number");
}

TEST(ConfigWrongType, BooleanExpected) {
  std::string text = doc();
  text.replace(text.find("\"key\""), 0, R"("generate_dev_certs": "yes", )");
  expect_error(text, "tls.generate_dev_certs", "must be true or false");
}

TEST(ConfigWrongType, ObjectExpected) {
  expect_error(doc(R"("delivery": [],)"), "delivery", "must be an object");
  expect_error(doc(R"("limits": 1,)"), "limits", "must be an object");
  expect_error(doc("", R"("hertfordshire-police")"), "agencies[0]", "must be an object");
  expect_error(doc("", R"({"id": "a", "kind": "police", "delivery": "push"})"), "agencies[0].delivery",
               "must be an object");
}

TEST(ConfigWrongType, ArrayExpected) {
  expect_error(doc(R"("administrators": {},)"), "administrators", "must be an array");
  expect_error(doc("", R"({"id": "a", "kind": "police", "certificates": {"subject_cn": "a"}})"),
               "agencies[0].certificates", "must be an array");
  expect_error(doc("", R"({"id": "a", "kind": "police", "certificates": [{"subject_cn": "x", "roles": "operator"}]})"),
               "agencies[0].certificates[0].roles", "must be an array");
}

TEST(ConfigWrongType, RoleMustBeAKnownString) {
  expect_error(doc("", R"({"id": "a", "kind": "police", "certificates": [{"subject_cn": "x", "roles": [1]}]})"),
               "agencies[0].certificates[0].roles[0]", "must be a string");
  expect_error(
      doc("", R"({"id": "a", "kind": "police", "certificates": [{"subject_cn": "x", "roles": ["operator", "admin"]}]})"),
      "agencies[0].certificates[0].roles[1]", "'admin' is not one of operator, business-continuity, administrator");
}

TEST(ConfigWrongType, AgenciesMustBeANonEmptyArray) {
  expect_error(doc("", ""), "agencies", "non-empty array");
  expect_error(R"({"tls": {"ca": "a", "cert": "b", "key": "c"}})", "agencies", "non-empty array");
  expect_error(R"({"tls": {"ca": "a", "cert": "b", "key": "c"}, "agencies": {}})", "agencies", "non-empty array");
}

TEST(ConfigWrongType, RootMustBeAnObject) { expect_error("[1, 2]", "/", "must be a JSON object"); }

TEST(ConfigRanges, NumbersOutOfRange) {
  expect_error(doc(R"("io_threads": 0,)"), "io_threads", "must be between 1 and 64");
  expect_error(doc(R"("io_threads": 65,)"), "io_threads", "must be between 1 and 64");
  expect_error(doc(R"("retention_days": -1,)"), "retention_days", "must be between 0 and 36500");
  auto kept = parse_config(doc(R"("retention_days": 2190,)"), "/x");
  ASSERT_TRUE(kept.ok()) << kept.error().describe();
  EXPECT_EQ(kept->retention_days, 2190);
  expect_error(doc(R"("commit_interval_ms": 101,)"), "commit_interval_ms", "must be between 0 and 100");
  auto eager = parse_config(doc(R"("commit_interval_ms": 0,)"), "/x");
  ASSERT_TRUE(eager.ok()) << eager.error().describe();
  EXPECT_EQ(eager->commit_interval_ms, 0);
  expect_error(doc(R"("delivery": {"retry_initial_ms": 5},)"), "delivery.retry_initial_ms", "between 10 and");
  expect_error(doc(R"("limits": {"max_xml_depth": 1000},)"), "limits.max_xml_depth", "between 8 and 256");
  expect_error(doc(R"("limits": {"max_connections": -1},)"), "limits.max_connections", "between 1 and");
}

TEST(ConfigRanges, LogLevel) { expect_error(doc(R"("log_level": "verbose",)"), "log_level", "not a log level"); }

TEST(ConfigRequired, TlsAndItsFiles) {
  expect_error(R"({"agencies": [{"id": "a", "kind": "police"}]})", "tls", "is required");
  expect_error(R"({"tls": {"ca": "a", "cert": "b"}, "agencies": [{"id": "a", "kind": "police"}]})", "tls.key",
               "is required");
}

TEST(ConfigRequired, AgencyIdAndKind) {
  expect_error(doc("", R"({"kind": "police"})"), "agencies[0].id", "is required");
  expect_error(doc("", R"({"id": "a", "kind": "police"}, {"id": "b"})"), "agencies[1].kind", "is required");
}

// ---- agencies -------------------------------------------------------------------------

TEST(ConfigAgency, BadKind) {
  expect_error(doc("", R"({"id": "a", "kind": "police"}, {"id": "b", "kind": "fire"}, {"id": "c", "kind": "polce"})"),
               "agencies[2].kind", "'polce' is not one of police, fire, ambulance");
}

TEST(ConfigAgency, DuplicateId) {
  expect_error(doc("", R"({"id": "a", "kind": "police"}, {"id": "a", "kind": "fire"})"), "agencies[1].id",
               "duplicate agency id 'a'");
}

TEST(ConfigAgency, BadIdCharacters) {
  for (const char* id : {"Herts-Police", "herts_police", "herts police", "-herts", "herts.police", ""}) {
    SCOPED_TRACE(id);
    expect_error(doc("", std::string(R"({"id": ")") + id + R"(", "kind": "police"})"), "agencies[0].id",
                 "must be 1-64 characters of a-z, 0-9 and '-'");
  }
  expect_error(doc("", R"({"id": ")" + std::string(65, 'a') + R"(", "kind": "police"})"), "agencies[0].id",
               "must be 1-64");
  auto ok = parse_config(doc("", R"({"id": ")" + std::string(64, 'a') + R"(", "kind": "police"})"), "/");
  EXPECT_TRUE(ok.ok());
  auto digits = parse_config(doc("", R"({"id": "999-control", "kind": "police"})"), "/");
  EXPECT_TRUE(digits.ok());
}

TEST(ConfigAgency, PushNeedsHttpsEndpoint) {
  expect_error(doc("", R"({"id": "a", "kind": "police", "delivery": {"mode": "push"}})"), "agencies[0].delivery.endpoint",
               "push delivery needs an https:// endpoint");
  expect_error(doc("", R"({"id": "a", "kind": "police"},
                          {"id": "b", "kind": "fire", "delivery": {"mode": "push", "endpoint": "http://b.example/in"}})"),
               "agencies[1].delivery.endpoint", "https://");
  auto ok = parse_config(
      doc("", R"({"id": "a", "kind": "police", "delivery": {"mode": "push", "endpoint": "https://a.example:9443/in"}})"),
      "/");
  ASSERT_TRUE(ok.ok()) << ok.error().describe();
  EXPECT_EQ(ok->agencies[0].delivery, DeliveryMode::push);
  EXPECT_EQ(ok->agencies[0].endpoint, "https://a.example:9443/in");
}

TEST(ConfigAgency, UnknownDeliveryMode) {
  expect_error(doc("", R"({"id": "a", "kind": "police", "delivery": {"mode": "poll"}})"), "agencies[0].delivery.mode",
               "'poll' is not one of pull, push");
}

TEST(ConfigAgency, FormatIsKeptForTheHubToCheck) {
  auto c = parse_config(doc("", R"({"id": "a", "kind": "ambulance", "format": "ambulance"})"), "/");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->agencies[0].format, "ambulance");
}

// ---- certificates ---------------------------------------------------------------------

TEST(ConfigCertificate, NeedsCnOrFingerprint) {
  expect_error(doc("", R"({"id": "a", "kind": "police", "certificates": [{"roles": ["operator"]}]})"),
               "agencies[0].certificates[0]", "needs subject_cn, san or sha256");
}

TEST(ConfigCertificate, FingerprintIsNormalised) {
  std::string colons;
  for (int i = 0; i < 32; ++i) colons += (i ? ":" : "") + std::string("AB");
  auto c = parse_config(doc("", R"({"id": "a", "kind": "police", "certificates": [{"sha256": ")" + colons + R"("}]})"),
                        "/");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  ASSERT_EQ(c->agencies[0].certificates.size(), 1u);
  std::string expected;
  for (int i = 0; i < 32; ++i) expected += "ab";
  EXPECT_EQ(c->agencies[0].certificates[0].sha256, expected);
  EXPECT_TRUE(c->agencies[0].certificates[0].subject_cn.empty());
}

TEST(ConfigCertificate, FingerprintMustBeHexOf32Bytes) {
  expect_error(doc("", R"({"id": "a", "kind": "police", "certificates": [{"sha256": "zz"}]})"),
               "agencies[0].certificates[0].sha256", "must be hexadecimal");
  expect_error(doc("", R"({"id": "a", "kind": "police", "certificates": [{"sha256": "abcd"}]})"),
               "agencies[0].certificates[0].sha256", "64 hex digits");
}

TEST(ConfigCertificate, CnClaimedTwiceByTwoAgencies) {
  expect_error(doc("", R"({"id": "a", "kind": "police", "certificates": [{"subject_cn": "shared"}]},
                          {"id": "b", "kind": "fire", "certificates": [{"subject_cn": "shared"}]})"),
               "agencies[1].certificates[0]",
               "claims the same certificate as agencies[0].certificates[0] (both name cn:shared)");
}

TEST(ConfigCertificate, DefaultCnClaimedByAnAdministrator) {
  // Agency "a" without certificates is recognised by CN "a"; an administrator may not reuse it.
  expect_error(doc(R"("administrators": [{"subject_cn": "a"}],)", R"({"id": "a", "kind": "police"})"),
               "administrators[0]", "claims the same certificate as agencies[0].id (both name cn:a)");
}

TEST(ConfigCertificate, FingerprintClaimedTwice) {
  const std::string fp(64, 'c');
  expect_error(doc("", R"({"id": "a", "kind": "police", "certificates": [{"sha256": ")" + fp + R"("}]},
                          {"id": "b", "kind": "fire", "certificates": [{"sha256": ")" + fp + R"("}]})"),
               "agencies[1].certificates[0]", "as agencies[0].certificates[0] (both name sha256:" + fp + ")");
}

// ---- delivery -------------------------------------------------------------------------

TEST(ConfigDelivery, RetryMaxBelowInitial) {
  expect_error(doc(R"("delivery": {"retry_initial_ms": 2000, "retry_max_ms": 1000},)"), "delivery.retry_max_ms",
               "must not be less than retry_initial_ms");
}

TEST(ConfigDelivery, ValuesAreRead) {
  auto c = parse_config(
      doc(R"("delivery": {"retry_initial_ms": 20, "retry_max_ms": 20, "dead_letter_after_s": 5, "stream_window": 7},)"),
      "/");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  EXPECT_EQ(c->delivery.retry_initial.count(), 20);
  EXPECT_EQ(c->delivery.retry_max.count(), 20);
  EXPECT_EQ(c->delivery.dead_letter_after.count(), 5);
  EXPECT_EQ(c->delivery.stream_window, 7u);
}

// ---- listen ---------------------------------------------------------------------------

TEST(ConfigListen, HostAndPort) {
  auto c = parse_config(doc(R"("listen": "0.0.0.0:9443",)"), "/");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->listen_address, "0.0.0.0");
  EXPECT_EQ(c->listen_port, 9443);
  auto v6 = parse_config(doc(R"("listen": "[::1]:9443",)"), "/");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->listen_address, "::1");
  EXPECT_EQ(v6->listen_port, 9443);
}

TEST(ConfigListen, Mistakes) {
  expect_error(doc(R"("listen": "localhost",)"), "listen", "must be host:port");
  expect_error(doc(R"("listen": "localhost:99999",)"), "listen", "'99999' is not a port number");
  expect_error(doc(R"("listen": "localhost:84x3",)"), "listen", "'84x3' is not a port number");
}

// ---- syntax errors --------------------------------------------------------------------

TEST(ConfigSyntax, LineAndColumnOfTheError) {
  // Line 3, column 11 is the second string where a ':' belongs.
  const std::string text = "{\n  \"listen\": \"127.0.0.1:1\",\n  \"store\" \"x.db\"\n}";
  const Error e = parse_error(text);
  EXPECT_EQ(e.rule, "config-syntax");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.column, 11);
  EXPECT_FALSE(e.message.empty());
}

TEST(ConfigSyntax, ErrorOnFirstLine) {
  const Error e = parse_error("{\"a\": tru}");
  EXPECT_EQ(e.rule, "config-syntax");
  EXPECT_EQ(e.line, 1);
  EXPECT_GE(e.column, 7);
  EXPECT_LE(e.column, 10);
}

TEST(ConfigSyntax, TruncatedDocument) {
  const Error e = parse_error("{\n\"agencies\": [\n");
  EXPECT_EQ(e.rule, "config-syntax");
  EXPECT_EQ(e.line, 3);
}

TEST(ConfigSyntax, CommentsAndTrailingCommasAreAllowed) {
  auto c = parse_config(doc("// the port\n\"listen\": \"127.0.0.1:1234\", /* block */"), "/");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  EXPECT_EQ(c->listen_port, 1234);
}

// ---- paths ----------------------------------------------------------------------------

TEST(ConfigPaths, RelativePathsResolveAgainstBaseDir) {
  auto c = parse_config(doc(R"("store": "var/hub.db", "log_file": "../logs/hub.log",)"), "/srv/deit");
  ASSERT_TRUE(c.ok()) << c.error().describe();
  EXPECT_EQ(c->store_path, "/srv/deit/var/hub.db");
  EXPECT_EQ(c->log_file, "/srv/logs/hub.log");
  EXPECT_EQ(c->tls.ca_file, "/srv/deit/certs/ca.pem");
  EXPECT_EQ(c->tls.cert_file, "/srv/deit/certs/hub.pem");
  EXPECT_EQ(c->tls.key_file, "/srv/deit/certs/hub.key");
  EXPECT_EQ(c->tls.crl_file, "");  // not configured stays empty
  EXPECT_EQ(c->tls.dev_certs_dir, "/srv/deit/certs");
}

TEST(ConfigPaths, AbsolutePathsAreKept) {
  auto c = parse_config(doc(R"("store": "/var/lib/deit/hub.db",)"), "/srv/deit");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->store_path, "/var/lib/deit/hub.db");
  EXPECT_EQ(c->log_file, "");
}

TEST(ConfigPaths, DefaultsResolveAgainstBaseDir) {
  auto c = default_config("/opt/hub");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->store_path, "/opt/hub/var/deit-hub.db");
  EXPECT_EQ(c->tls.dev_certs_dir, "/opt/hub/var/certs");
}

// ---- files ----------------------------------------------------------------------------

class ConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("deit-config-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  fs::path dir_;
};

TEST_F(ConfigFile, ResolvesAgainstTheFilesDirectory) {
  auto c = load_config_file(write("hub.json", doc(R"("store": "hub.db",)")));
  ASSERT_TRUE(c.ok()) << c.error().describe();
  EXPECT_EQ(c->store_path, (dir_ / "hub.db").string());
}

TEST_F(ConfigFile, ErrorsNameTheFile) {
  const std::string path = write("bad.json", doc(R"("io_threads": "x",)"));
  auto c = load_config_file(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().field, "io_threads");
  EXPECT_EQ(c.error().message.rfind(path, 0), 0u) << c.error().message;
}

TEST_F(ConfigFile, MissingFile) {
  const std::string path = (dir_ / "missing.json").string();
  auto c = load_config_file(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().field, path);
  EXPECT_EQ(c.error().rule, "config");
}


// ---- plan_reload: what a reload of the file changes, and what waits for a restart

Config parsed(const std::string& text) {
  auto c = parse_config(text, "/srv/deit");
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().describe());
  return c.ok() ? std::move(c).value() : Config{};
}

TEST(ConfigReload, NothingChangedIsNothingToDo) {
  const Config running = parsed(doc());
  Config fresh = parsed(doc());
  auto changes = plan_reload(running, fresh);
  ASSERT_TRUE(changes.ok()) << changes.error().describe();
  EXPECT_FALSE(changes->any());
  EXPECT_TRUE(changes->restart_required.empty());
}

TEST(ConfigReload, NamesTheAgenciesAddedRemovedAndChanged) {
  const Config running = parsed(doc("", R"({"id": "hertfordshire-police", "kind": "police"},
      {"id": "hertfordshire-fire", "kind": "fire"}, {"id": "bedfordshire-police", "kind": "police"})"));
  Config fresh = parsed(doc("", R"({"id": "hertfordshire-police", "kind": "police", "name": "Herts CAD"},
      {"id": "hertfordshire-fire", "kind": "fire"}, {"id": "essex-police", "kind": "police"})"));
  auto changes = plan_reload(running, fresh);
  ASSERT_TRUE(changes.ok()) << changes.error().describe();
  EXPECT_EQ(changes->added, std::vector<std::string>{"essex-police"});
  EXPECT_EQ(changes->removed, std::vector<std::string>{"bedfordshire-police"});
  EXPECT_EQ(changes->changed, std::vector<std::string>{"hertfordshire-police"});
  EXPECT_TRUE(changes->settings.empty());
  EXPECT_TRUE(changes->any());
}

TEST(ConfigReload, ACertificateRuleIsAChangeToItsAgency) {
  const Config running = parsed(doc());
  Config fresh = parsed(doc("", R"({"id": "hertfordshire-police", "kind": "police",
      "certificates": [{"subject_cn": "herts-cad-2"}]}, {"id": "hertfordshire-fire", "kind": "fire"})"));
  auto changes = plan_reload(running, fresh);
  ASSERT_TRUE(changes.ok()) << changes.error().describe();
  EXPECT_EQ(changes->changed, std::vector<std::string>{"hertfordshire-police"});
}

TEST(ConfigReload, SettingsThatTakeEffectAtOnceAreListed) {
  const Config running = parsed(doc());
  Config fresh = parsed(doc(R"("log_level": "debug", "retention_days": 30,
      "delivery": {"retry_initial_ms": 100},
      "administrators": [{"subject_cn": "hub-admin-2"}],
      "gazetteer": {"snapshot": "var/gazetteer/national.gaz"},)"));
  auto changes = plan_reload(running, fresh);
  ASSERT_TRUE(changes.ok()) << changes.error().describe();
  EXPECT_EQ(changes->settings,
            (std::vector<std::string>{"administrators", "delivery", "retention_days", "log_level", "gazetteer"}));
  EXPECT_EQ(fresh.log_level, "debug");
  EXPECT_EQ(fresh.retention_days, 30);
  EXPECT_NE(fresh.gazetteer.snapshot.find("national.gaz"), std::string::npos);
  EXPECT_TRUE(changes->restart_required.empty());
}

TEST(ConfigReload, RestartOnlySettingsKeepTheirRunningValuesAndAreListed) {
  const Config running = parsed(doc(R"("listen": "127.0.0.1:8443", "store": "var/a.db", "io_threads": 2,)"));
  Config fresh = parsed(doc(R"("listen": "0.0.0.0:9443", "store": "var/b.db", "io_threads": 4,
      "limits": {"max_body_bytes": 4096}, "retention_days": 7,)"));
  auto changes = plan_reload(running, fresh);
  ASSERT_TRUE(changes.ok()) << changes.error().describe();
  EXPECT_EQ(changes->restart_required, (std::vector<std::string>{"listen", "store", "io_threads", "limits"}));
  EXPECT_EQ(fresh.listen_address, "127.0.0.1");
  EXPECT_EQ(fresh.listen_port, 8443);
  EXPECT_EQ(fresh.store_path, running.store_path);
  EXPECT_EQ(fresh.io_threads, 2);
  EXPECT_EQ(fresh.limits, running.limits);
  // What may change does, beside them.
  EXPECT_EQ(changes->settings, std::vector<std::string>{"retention_days"});
  EXPECT_EQ(fresh.retention_days, 7);
}

TEST(ConfigReload, ALinkTheHubOpensChangesOnlyWithARestart) {
  constexpr std::string_view kKey = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
  const Config running = parsed(doc(R"("links": {"listen": "tcp://127.0.0.1:9444", "key": "certs/hub.curve.key"},)"));
  const std::string linked = std::string(R"({"id": "hertfordshire-police", "kind": "police"},
      {"id": "hertfordshire-fire", "kind": "fire", "delivery": {"mode": "link", "endpoint": "tcp://10.1.2.3:7000",
       "server_key": ")") + std::string(kKey) + R"("}})";
  Config fresh = parsed(doc(R"("links": {"listen": "tcp://127.0.0.1:9444", "key": "certs/hub.curve.key"},)", linked));
  auto refused = plan_reload(running, fresh);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().field, "agencies[1]");
  EXPECT_NE(refused.error().message.find("only with a restart"), std::string::npos) << refused.error().message;
  // Removing an agency the hub links to is refused too.
  const Config running_linked = parsed(doc(R"("links": {"listen": "tcp://127.0.0.1:9444", "key": "certs/hub.curve.key"},)", linked));
  Config without = parsed(doc(R"("links": {"listen": "tcp://127.0.0.1:9444", "key": "certs/hub.curve.key"},)",
                              R"({"id": "hertfordshire-police", "kind": "police"})"));
  auto removed = plan_reload(running_linked, without);
  ASSERT_FALSE(removed.ok());
  EXPECT_EQ(removed.error().field, "agencies");
  EXPECT_NE(removed.error().message.find("'hertfordshire-fire' is removed"), std::string::npos);
}

TEST(ConfigReload, AnAgencysLinkKeysAreAdmittedAtTheNextRestart) {
  constexpr std::string_view kKey = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
  const Config running = parsed(doc(R"("links": {"listen": "tcp://127.0.0.1:9444", "key": "certs/hub.curve.key"},)"));
  Config fresh = parsed(doc(R"("links": {"listen": "tcp://127.0.0.1:9444", "key": "certs/hub.curve.key"},)",
                            std::string(R"({"id": "hertfordshire-police", "kind": "police", "link_keys": [")") +
                                std::string(kKey) + R"("]}, {"id": "hertfordshire-fire", "kind": "fire"})"));
  auto changes = plan_reload(running, fresh);
  ASSERT_TRUE(changes.ok()) << changes.error().describe();
  EXPECT_EQ(changes->restart_required, std::vector<std::string>{"agencies[0].link_keys"});
  EXPECT_EQ(changes->changed, std::vector<std::string>{"hertfordshire-police"});
}

}  // namespace
}  // namespace deit::hub
