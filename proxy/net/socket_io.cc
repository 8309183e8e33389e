#include "proxy/net/socket_io.h"

#if ALBEMU_DRAINED_READS
#include <sys/epoll.h>

#include <boost/asio/detail/scheduler_operation.hpp>
#include <boost/version.hpp>
#include <cstdint>

namespace albemu::net {
namespace socket_io_detail {
namespace {

static_assert(BOOST_VERSION == 108100,
              "reads private members of Boost 1.81's epoll reactor: check them for this release");

/// Names a private member of Asio's reactor: an explicit instantiation may name any member,
/// whatever its access, and the friend function hands the member pointer out.
template <class Tag, typename Tag::type Member>
struct Expose {
  friend constexpr typename Tag::type member(Tag) { return Member; }
};
/// The reactor's epoll descriptor.
struct EpollFd {
  using type = int Reactor::*;
  friend constexpr type member(EpollFd);
};
/// The events a socket is registered for.
struct RegisteredEvents {
  using type = std::uint32_t DescriptorState::*;
  friend constexpr type member(RegisteredEvents);
};
/// The events of the socket's latest epoll report: epoll_reactor::run stores them in the
/// descriptor state's operation base when epoll_wait returns them.
struct ReportedEvents {
  using type = unsigned int asio::detail::scheduler_operation::*;
  friend constexpr type member(ReportedEvents);
};

template struct Expose<EpollFd, &Reactor::epoll_fd_>;
template struct Expose<RegisteredEvents, &DescriptorState::registered_events_>;
template struct Expose<ReportedEvents, &asio::detail::scheduler_operation::task_result_>;

}  // namespace

/// `derived` as its base `Base`, which may be a private base: the one cast that access would
/// refuse, checked to be a conversion to a base (a C-style cast between unrelated types would
/// silently reinterpret the pointer instead).
template <class Base, class Derived>
const Base* as_base(const Derived* derived) {
  static_assert(std::is_base_of_v<Base, Derived>, "not a base: the cast would reinterpret");
  return (const Base*)derived;  // NOLINT(google-readability-casting): a private base
}

bool nothing_pending(const DescriptorState* state) {
  if ((state->*member(RegisteredEvents{}) & EPOLLRDHUP) == 0) return false;
  // The descriptor state derives privately from the operation that holds the events.
  const auto* base = as_base<asio::detail::scheduler_operation>(state);
  return (base->*member(ReportedEvents{}) & (EPOLLRDHUP | EPOLLPRI | EPOLLHUP | EPOLLERR)) == 0;
}

}  // namespace socket_io_detail

bool enable_drained_reads(PlainSocket& socket) {
  namespace detail = socket_io_detail;
  auto* state = detail::SocketAccess::impl(socket).get_implementation().reactor_data_;
  if (state == nullptr) return false;
  std::uint32_t& registered = state->*member(detail::RegisteredEvents{});
  if (registered == 0) return false;  // not in epoll
  auto& reactor = boost::asio::use_service<detail::Reactor>(socket.get_executor().context());
  epoll_event event{};
  event.events = registered | EPOLLRDHUP;
  event.data.ptr = state;
  if (::epoll_ctl(reactor.*member(detail::EpollFd{}), EPOLL_CTL_MOD, socket.native_handle(),
                  &event) != 0) {
    return false;
  }
  registered = event.events;
  return true;
}

}  // namespace albemu::net

#endif  // ALBEMU_DRAINED_READS
