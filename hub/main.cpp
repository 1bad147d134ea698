// deit-hub: the direct electronic incident transfer hub.
//   deit-hub                      run with the embedded defaults (files under ./var)
//   deit-hub --config hub.json    run with a configuration file
//   deit-hub --check-config F     validate a configuration file and exit
//   deit-hub --print-default-config

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <functional>
#include <iostream>
#include <thread>

#include "hub/config.hpp"
#include "schemas/xml.hpp"
#include "hub/hub.hpp"
#include "hub/links/curve_keys.hpp"
#include "hub/links/link_service.hpp"
#include "hub/logging.hpp"
#include "hub/pki.hpp"
#include "hub/server.hpp"
#include "hub/thread_name.hpp"

using namespace deit;
using namespace deit::hub;

namespace {

int usage() {
  std::cerr << "usage: deit-hub [--config FILE] [--base-dir DIR] [--listen HOST:PORT] [--log-level LEVEL]\n"
               "       deit-hub --check-config FILE\n"
               "       deit-hub --print-default-config\n";
  return 2;
}

// With generate_dev_certs: a development certificate for every name the configuration
// gives (made only where missing), and link keys. At start, and for an agency a reload adds.
Status ensure_dev_material(Config& config) {
  if (!config.tls.generate_dev_certs) return Status::success();
  std::vector<std::string> names{"hub"};
  for (const auto& a : config.agencies) {
    names.push_back(a.id);
    for (const auto& m : a.certificates)  // e.g. a business continuity desk's own certificate
      if (!m.subject_cn.empty() && m.subject_cn != a.id) names.push_back(m.subject_cn);
  }
  for (const auto& m : config.administrators)
    if (!m.subject_cn.empty()) names.push_back(m.subject_cn);
  if (auto s = pki::ensure_dev_pki(config.tls.dev_certs_dir, names); !s) return s;
  spdlog::info("event=dev-certificates dir={}", config.tls.dev_certs_dir);
  return links::ensure_dev_link_keys(config);
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_file, base_dir = std::filesystem::current_path().string(), listen, log_level;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : std::string(); };
    if (a == "--config") {
      config_file = next();
    } else if (a == "--check-config") {
      config_file = next();
      check_only = true;
    } else if (a == "--base-dir") {
      base_dir = next();
    } else if (a == "--listen") {
      listen = next();
    } else if (a == "--log-level") {
      log_level = next();
    } else if (a == "--print-default-config") {
      std::cout << default_config_text();
      return 0;
    } else {
      return usage();
    }
  }

  // The configuration with the command line's overrides: at start and for every reload.
  auto read_config = [config_file, base_dir, listen, log_level]() -> Result<Config> {
    auto config = config_file.empty() ? default_config(base_dir) : load_config_file(config_file);
    if (!config) return config;
    if (!listen.empty()) {
      const auto colon = listen.rfind(':');
      config->listen_address = listen.substr(0, colon);
      config->listen_port = static_cast<std::uint16_t>(std::stoi(listen.substr(colon + 1)));
    }
    if (!log_level.empty()) config->log_level = log_level;
    return config;
  };
  auto config = read_config();
  if (!config) {
    std::cerr << "deit-hub: configuration error: " << config.error().describe() << "\n";
    return 1;
  }
  if (check_only) {
    std::cout << "configuration OK: " << config->agencies.size() << " agencies\n";
    return 0;
  }
  if (auto s = setup_logging(config->log_level, config->log_file); !s) {
    std::cerr << "deit-hub: " << s.error().describe() << "\n";
    return 1;
  }

  if (auto s = ensure_dev_material(*config); !s) {
    spdlog::critical("event=startup-failed reason=\"{}\"", s.error().describe());
    return 1;
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(config->store_path).parent_path(), ec);

  xml::set_default_limits({config->limits.max_body_bytes, config->limits.max_xml_depth});
  const int threads = config->io_threads;
  auto hub = Hub::create(std::move(config).value());
  if (hub) {
    (*hub)->set_config_source([read_config] {
      auto config = read_config();
      if (config)
        if (auto s = ensure_dev_material(*config); !s) return Result<Config>(s.error());
      return config;
    });
  }
  if (!hub) {
    spdlog::critical("event=startup-failed reason=\"{}\"", hub.error().describe());
    spdlog::shutdown();
    return 1;
  }
  // The work pool (see Server: submits' CPU-heavy part) runs on threads of our own, named
  // before they take any work: an idle pool thread must not show as the main thread in top -H.
  boost::asio::thread_pool work(0);
  std::vector<std::thread> preparers;
  for (int i = 0; i < threads; ++i)
    preparers.emplace_back([&work] {
      deit::hub::name_this_thread("deit-prepare");
      work.attach();
    });
  boost::asio::io_context io(threads);
  Server server(**hub, io, &work);
  if (auto s = server.start(); !s) {
    spdlog::critical("event=startup-failed reason=\"{}\"", s.error().describe());
    spdlog::shutdown();
    return 1;
  }

  links::LinkService link_service(**hub);  // ZeroMQ CURVE links, when configured
  if (auto s = link_service.start(); !s) {
    spdlog::critical("event=startup-failed reason=\"{}\"", s.error().describe());
    spdlog::shutdown();
    return 1;
  }

  // SIGHUP reloads the configuration file, the code mapping tables, the TLS files (a
  // renewed certificate, a new CRL) and the gazetteer (a new supply or its updates), as
  // operators expect of a daemon.
  boost::asio::signal_set hangups(io, SIGHUP);
  std::function<void()> wait_for_hangup = [&] {
    hangups.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      static_cast<void>(server.reload_config());
      if (!(*hub)->config().mappings_dir.empty()) static_cast<void>((*hub)->reload_mappings());
      static_cast<void>(server.reload_tls());
      if (!(*hub)->config().gazetteer.snapshot.empty()) static_cast<void>((*hub)->reload_gazetteer("SIGHUP"));
      wait_for_hangup();
    });
  };
  wait_for_hangup();
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int sig) {
    spdlog::info("event=stopping signal={}", sig);
    server.stop();
    link_service.stop();
    hangups.cancel();
    io.stop();
  });
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i)
    pool.emplace_back([&] {
      deit::hub::name_this_thread("deit-io");
      io.run();
    });
  io.run();  // the main thread keeps the process name: ps, pgrep and systemd know it by that
  for (auto& t : pool) t.join();
  work.stop();  // a submit still being prepared finishes before the store closes
  for (auto& t : preparers) t.join();
  work.join();
  (*hub)->store().close();  // every queued write is committed before the process ends
  spdlog::info("event=stopped");
  spdlog::shutdown();
  return 0;
}
