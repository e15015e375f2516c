// HttpServer: serves a ReadApi over HTTP/1.1 on a socket with cpp-httplib
// (Debian's libcpp-httplib: a thread pool, keep-alive, request size and
// time limits). Every request, including ones the library itself refuses
// (bad request line, oversized body), gets a JSON body.
//
// Thread-safety: Start/Stop from one thread; requests run on the server's
// pool threads and call ReadApi::Handle concurrently.
// Lifetime: `api` is borrowed and must outlive the server; Stop (or the
// destructor) stops accepting, finishes requests in flight and joins.
//
//   ASSIGN_OR_RETURN(auto server, HttpServer::Start(&api, {.address = "127.0.0.1:0"}));
//   int port = server->port();
//   server->Stop();
#ifndef LEADLOG_PROJECTIONS_API_HTTP_SERVER_H_
#define LEADLOG_PROJECTIONS_API_HTTP_SERVER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "projections/api/limits.h"
#include "projections/api/read_api.h"

namespace httplib {
class Server;
}

namespace leadlog {

struct HttpServerOptions {
  // "HOST:PORT" to listen on; port 0 picks a free port (see port()).
  std::string address = "127.0.0.1:8080";
  // Pool threads serving requests (1..kApiThreadsMax).
  int threads = kApiThreadsDefault;
  // A connection idle (or trickling a request) this long is closed.
  int read_timeout_ms = 5000;
  // Requests served per keep-alive connection before it is closed.
  int keep_alive_max = 100000;
};

class HttpServer {
 public:
  // Binds and starts serving on a thread of its own. InvalidArgument naming
  // "address" or "threads"; Unavailable when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const ReadApi* api,
                                                           HttpServerOptions options);
  ~HttpServer();

  int port() const { return port_; }
  void Stop();

 private:
  HttpServer() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  // Notified when the listen thread returns (shared: a thread Stop had to
  // leave behind still owns a reference).
  std::shared_ptr<absl::Notification> listen_returned_;
  int port_ = 0;
};

// Splits "HOST:PORT" ("[::1]:80" for IPv6); InvalidArgument naming "address".
absl::StatusOr<std::pair<std::string, int>> ParseListenAddress(const std::string& address);

}  // namespace leadlog

#endif  // LEADLOG_PROJECTIONS_API_HTTP_SERVER_H_
