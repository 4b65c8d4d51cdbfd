#ifndef CCURL_SHIM_H
#define CCURL_SHIM_H

#include <curl/curl.h>
#include <stddef.h>

// curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call:
// each function below fixes the argument type for one kind of option.

/// Sets an option that takes a `long`.
CURLcode cw_curl_easy_setopt_long(CURL *handle, CURLoption option, long value);
/// Sets an option that takes a `curl_off_t`.
CURLcode cw_curl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value);
/// Sets an option that takes a C string (libcurl copies it).
CURLcode cw_curl_easy_setopt_string(CURL *handle, CURLoption option, const char *value);
/// Sets an option that takes a pointer (header lists, callback user data).
CURLcode cw_curl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value);

typedef size_t (*cw_curl_data_callback)(char *buffer, size_t size, size_t count, void *user);

/// Sets `CURLOPT_WRITEFUNCTION`, `CURLOPT_READFUNCTION` or `CURLOPT_HEADERFUNCTION`.
CURLcode cw_curl_easy_setopt_data_callback(CURL *handle, CURLoption option, cw_curl_data_callback callback);

/// Reads an info field that is a `long` (response code, OS errno).
CURLcode cw_curl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);

/// What a write callback returns to pause its transfer (`CURL_WRITEFUNC_PAUSE`, a macro Swift
/// does not import); libcurl delivers the same data again once the transfer is unpaused.
size_t cw_curl_write_pause(void);
/// Unpauses a transfer paused by its write callback (`curl_easy_pause` with `CURLPAUSE_CONT`).
CURLcode cw_curl_easy_unpause(CURL *handle);

// The multi loop runs on libcurl's socket API over epoll: libcurl says which sockets to watch
// and when its next timeout is due, and is told exactly which socket is ready, so the work per
// event does not grow with the number of open transfers.

typedef int (*cw_curl_socket_callback)(CURL *easy, curl_socket_t socket, int what, void *loop, void *socket_data);
typedef int (*cw_curl_timer_callback)(CURLM *multi, long timeout_ms, void *loop);

/// Sets `CURLMOPT_SOCKETFUNCTION` and `CURLMOPT_TIMERFUNCTION`, each with `loop` as its data.
CURLMcode cw_curl_multi_set_callbacks(CURLM *multi, cw_curl_socket_callback sockets, cw_curl_timer_callback timer, void *loop);

/// An epoll instance, close-on-exec; -1 with errno on failure.
int cw_epoll_create(void);
/// Watches `socket` for what libcurl asks (`CURL_POLL_IN`, `_OUT`, `_INOUT`), or stops watching
/// it (`CURL_POLL_REMOVE`); `known`: it is watched already. Returns 0, or -1 with errno.
int cw_epoll_watch(int epoll, int socket, int what, int known);
/// Waits up to `timeout_ms` (-1: no limit) for ready sockets; fills at most `capacity` of them,
/// each with its `CURL_CSELECT_*` mask. Returns how many, or -1 with errno.
int cw_epoll_wait(int epoll, int *sockets, int *masks, int capacity, int timeout_ms);
/// A non-blocking, close-on-exec eventfd: how other threads wake the loop.
int cw_eventfd(void);

#endif
