#pragma once
// The HTTP listener of albemu's Compute Engine v1 API (`albemu serve --api HOST:PORT`,
// default 127.0.0.1:8085). Runs on serve's main io_context, like the admin endpoint, so API
// writes and reloads never race. With a token, every call needs `Authorization: Bearer T`.

#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <string>

#include "proxy/api/compute_api.h"

namespace albemu::control {
class ControlListener;
}  // namespace albemu::control

namespace albemu::api {

class ApiServer {
 public:
  /// `api` must outlive the server. Empty `token`: any bearer token, or none, is accepted.
  ApiServer(boost::asio::io_context& io_context, ComputeApi& api, std::string token = {});
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  /// Binds `host_port` ("127.0.0.1:8085"; port 0 picks a free port) and starts accepting.
  boost::system::error_code start(const std::string& host_port);
  /// Closes the listener; open connections end after their current request.
  void stop();
  /// "ip:port" bound.
  std::string address() const;

 private:
  std::shared_ptr<control::ControlListener> listener_;
};

}  // namespace albemu::api
