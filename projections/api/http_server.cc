#include "projections/api/http_server.h"

#include <httplib.h>

#include <iostream>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/thread_priority.h"
#include "projections/api/internal/handlers.h"

namespace leadlog {
namespace {

ApiRequest ToApiRequest(const httplib::Request& req) {
  ApiRequest out;
  out.method = req.method;
  out.path = req.path;
  for (const auto& [k, v] : req.params) out.query.emplace(k, v);
  out.body = req.body;
  out.authorization = req.get_header_value("Authorization");
  return out;
}

// What Response::set_content does, with the body moved rather than copied
// (a lead is ~4-9 KiB of JSON).
void Write(ApiResponse response, httplib::Response& res) {
  res.status = response.status;
  for (const auto& [k, v] : response.headers) res.set_header(k.c_str(), v);
  res.body = std::move(response.body);
  res.headers.erase("Content-Type");
  res.set_header("Content-Type", response.content_type);
}

// httplib's pool with its worker threads named "ll-http". httplib starts
// them itself, so the constructor hands every worker one naming task that
// waits until all have started: no worker can take two, so each is named
// before the pool serves a connection.
class NamedThreadPool final : public httplib::TaskQueue {
 public:
  explicit NamedThreadPool(size_t threads) : pool_(threads) {
    // Shared: a worker may still be returning from them after this returns.
    struct Start {
      explicit Start(int n) : started(n) {}
      absl::BlockingCounter started;
      absl::Notification all_started;
    };
    auto start = std::make_shared<Start>(static_cast<int>(threads));
    for (size_t i = 0; i < threads; ++i) {
      pool_.enqueue([start] {
        NameThisThread("ll-http");
        start->started.DecrementCount();
        start->all_started.WaitForNotification();
      });
    }
    start->started.Wait();
    start->all_started.Notify();
  }
  void enqueue(std::function<void()> fn) override { pool_.enqueue(std::move(fn)); }
  void shutdown() override { pool_.shutdown(); }

 private:
  httplib::ThreadPool pool_;
};

// Paths whose POST carries a body ReadApi reads: httplib reads the body
// after the pre-routing handler, so these go through a Post route.
bool PostWithBody(const httplib::Request& req) {
  return req.method == "POST" &&
         (req.path == "/v1/definitions" || req.path == "/v1/definitions/validate" ||
          (absl::StartsWith(req.path, "/v1/leads/") && absl::EndsWith(req.path, "/erase")));
}

void Configure(httplib::Server& server, const ReadApi* api, const HttpServerOptions& options) {
  const size_t threads = static_cast<size_t>(options.threads);
  server.new_task_queue = [threads] { return new NamedThreadPool(threads); };
  server.set_payload_max_length(kApiRequestBodyBytesMax);
  server.set_read_timeout(options.read_timeout_ms / 1000, (options.read_timeout_ms % 1000) * 1000);
  server.set_keep_alive_max_count(static_cast<size_t>(options.keep_alive_max));
  // httplib writes headers and body separately: without TCP_NODELAY, Nagle
  // and delayed ACKs add ~40 ms to every keep-alive response.
  server.set_tcp_nodelay(true);
  server.set_pre_routing_handler([api](const httplib::Request& req, httplib::Response& res) {
    if (PostWithBody(req)) return httplib::Server::HandlerResponse::Unhandled;
    Write(api->Handle(ToApiRequest(req)), res);
    return httplib::Server::HandlerResponse::Handled;
  });
  // With a content reader httplib leaves the body to us: it is not parsed
  // as a form (curl's default content type) and params stay the URL query.
  auto post = [api](const httplib::Request& req, httplib::Response& res,
                    const httplib::ContentReader& reader) {
    ApiRequest request = ToApiRequest(req);
    request.body.clear();
    uint64_t declared = 0;
    bool too_large = absl::SimpleAtoi(req.get_header_value("Content-Length"), &declared) &&
                     declared > kApiRequestBodyBytesMax;
    const bool read = !too_large && reader([&](const char* data, size_t length) {
      too_large = request.body.size() + length > kApiRequestBodyBytesMax;
      if (!too_large) request.body.append(data, length);
      return !too_large;
    });
    if (too_large || !read) {
      Write(api_internal::ErrorResponse(absl::InvalidArgumentError(
                too_large ? absl::StrCat("body: larger than ", kApiRequestBodyBytesMax, " bytes")
                          : std::string("body: unreadable (send it as the raw body)"))),
            res);
      if (too_large) res.status = 413;
      return;
    }
    Write(api->Handle(request), res);
  };
  server.Post("/v1/definitions", post);
  server.Post("/v1/definitions/validate", post);
  server.Post(R"(/v1/leads/[^/]+/erase)", post);
  // Refusals by the library itself (400 bad request, 413 too large, ...)
  // and anything that reached no handler: a JSON body too.
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    absl::Status status = res.status == 413
                              ? absl::InvalidArgumentError(absl::StrCat(
                                    "body: larger than ", kApiRequestBodyBytesMax, " bytes"))
                              : absl::InvalidArgumentError(absl::StrCat(
                                    "request: refused with HTTP ", res.status));
    if (res.status == 404) status = absl::NotFoundError("path: no such endpoint");
    const int code = res.status;
    Write(api_internal::ErrorResponse(status), res);
    res.status = code;
    return httplib::Server::HandlerResponse::Handled;
  }));
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res,
                                  std::exception_ptr) {
    Write(api_internal::ErrorResponse(absl::InternalError("request: unexpected exception")), res);
  });
}

}  // namespace

absl::StatusOr<std::pair<std::string, int>> ParseListenAddress(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(absl::StrCat("address: expected HOST:PORT, got \"", address, "\""));
  }
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("address: bad port in \"", address, "\""));
  }
  return std::make_pair(host, port);
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const ReadApi* api,
                                                              HttpServerOptions options) {
  if (options.threads < 1 || options.threads > kApiThreadsMax) {
    return absl::InvalidArgumentError(absl::StrCat("threads: expected 1..", kApiThreadsMax));
  }
  auto address = ParseListenAddress(options.address);
  if (!address.ok()) return address.status();
  std::unique_ptr<HttpServer> out(new HttpServer());
  out->server_ = std::make_unique<httplib::Server>();
  Configure(*out->server_, api, options);
  const auto& [host, port] = *address;
  if (port == 0) {
    out->port_ = out->server_->bind_to_any_port(host);
  } else if (out->server_->bind_to_port(host, port)) {
    out->port_ = port;
  }
  if (out->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat("address: cannot listen on ", options.address));
  }
  httplib::Server* server = out->server_.get();
  out->listen_returned_ = std::make_shared<absl::Notification>();
  out->thread_ = std::thread([server, returned = out->listen_returned_] {
    NameThisThread("ll-http-accept");
    server->listen_after_bind();
    returned->Notify();
  });
  return out;
}

void HttpServer::Stop() {
  if (server_ == nullptr) return;
  server_->stop();
  // stop() closes the listening socket, which ends the accept loop. Once
  // (CI, serve's SIGTERM under load) the listen thread stayed in accept()
  // after stop(): cpp-httplib 0.11 checks the socket, then accepts on it,
  // and a close in between leaves accept() on a closed (or reused)
  // descriptor. Rather than hang shutdown, wait a bounded time and leave
  // the thread and the server it uses to the process's exit.
  if (listen_returned_->WaitForNotificationWithTimeout(absl::Seconds(kHttpStopWaitSeconds))) {
    if (thread_.joinable()) thread_.join();
    server_.reset();
    return;
  }
  std::cerr << "leadlog: the HTTP listener did not stop within " << kHttpStopWaitSeconds
            << " s; leaving it to the process's exit\n";
  thread_.detach();
  (void)server_.release();  // the detached thread may still use it
}

HttpServer::~HttpServer() { Stop(); }

}  // namespace leadlog
